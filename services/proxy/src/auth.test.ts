import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTokenCheck, credentialFrom } from './auth.ts';
import { Secret } from './secret.ts';
import { startTestProxy, type TestProxy, TOKEN } from './testing/harness.ts';
import { request } from './testing/http-client.ts';

describe('credentialFrom', () => {
  it('accepts `token` and `Bearer` schemes, case-insensitively, with exactly one space', () => {
    assert.equal(credentialFrom('token abc'), 'abc');
    assert.equal(credentialFrom('Token abc'), 'abc');
    assert.equal(credentialFrom('Bearer abc'), 'abc');
    assert.equal(credentialFrom('BEARER abc'), 'abc');
    for (const bad of [
      undefined,
      '',
      'token',
      'token ',
      'token  abc',
      'abc',
      'Basic abc',
      'token abc def',
      'tokenabc',
    ]) {
      assert.equal(credentialFrom(bad), undefined, String(bad));
    }
  });
});

describe('createTokenCheck', () => {
  const check = createTokenCheck(new Secret('right'));
  it('accepts only the exact token', () => {
    assert.equal(check('token right'), true);
    assert.equal(check('token righ'), false);
    assert.equal(check('token rightt'), false);
    assert.equal(check('token RIGHT'), false);
    assert.equal(check(undefined), false);
  });
  it('does not accept an empty credential even if hashes were compared', () => {
    assert.equal(createTokenCheck(new Secret('x'))('token '), false);
  });
});

describe('REST API authentication', () => {
  let t: TestProxy;
  before(async () => {
    t = await startTestProxy();
  });
  after(() => t.close());

  const refused: Record<string, Record<string, string>> = {
    'no header': {},
    'wrong token': { authorization: 'token not-the-token' },
    'scheme only': { authorization: 'token' },
    'two spaces': { authorization: `token  ${TOKEN}` },
    'Basic scheme': { authorization: `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}` },
    'Basic with the raw token': { authorization: `Basic ${TOKEN}` },
    'right token plus suffix': { authorization: `token ${TOKEN}x` },
    'right token truncated': { authorization: `token ${TOKEN.slice(0, -1)}` },
    'token without scheme': { authorization: TOKEN },
    'token in another header': { 'x-auth-token': TOKEN },
  };

  for (const [name, headers] of Object.entries(refused)) {
    it(`refuses: ${name}`, async () => {
      const res = await request(t.proxy.apiPort, { path: '/api/routes', headers });
      assert.equal(res.status, 403);
      assert.deepEqual(res.json(), {
        status: 403,
        message: 'a valid token is required in the Authorization header',
        code: 'FORBIDDEN',
      });
    });
  }

  it('refuses the right token in the query string', async () => {
    for (const query of [`token=${TOKEN}`, `auth_token=${TOKEN}`, `access_token=${TOKEN}`]) {
      const res = await request(t.proxy.apiPort, { path: `/api/routes?${query}` });
      assert.equal(res.status, 403, query);
    }
  });

  it('refuses before looking at the method, path or body', async () => {
    const post = await request(t.proxy.apiPort, { method: 'POST', path: '/api/routes/x', body: '{not json' });
    assert.equal(post.status, 403);
    const unknown = await request(t.proxy.apiPort, { path: '/nothing/here' });
    assert.equal(unknown.status, 403);
    const routes = await t.api('GET', '/api/routes');
    assert.deepEqual(routes.json(), {});
  });

  it('accepts the right token with either scheme', async () => {
    for (const authorization of [`token ${TOKEN}`, `Bearer ${TOKEN}`, `bearer ${TOKEN}`, `TOKEN ${TOKEN}`]) {
      const res = await request(t.proxy.apiPort, { path: '/api/routes', headers: { authorization } });
      assert.equal(res.status, 200, authorization);
    }
  });
});

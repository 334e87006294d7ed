import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashToken } from '../sessions/tokens.ts';
import { BrowserClient, login } from '../testing/browser-client.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { issueApiToken } from './tokens.ts';

describe('REST API (real Postgres)', () => {
  let h: Harness;
  let aliceToken: string;
  let adminToken: string;

  const api = (path: string, init: RequestInit & { token?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set('authorization', `token ${init.token}`);
    return fetch(`${h.base}/hub/api${path}`, { ...init, headers });
  };

  before(async () => {
    h = await startHarness();
    await h.addUser('alice', 'alice-password');
    await h.addUser('bob', 'bob-password');
    await h.addUser('root', 'root-password', true);
    const row = async (name: string) => {
      const u = await h.hub.ctx.users.byName(name);
      assert.ok(u, name);
      return u;
    };
    aliceToken = (await issueApiToken(h.hub.ctx, await row('alice'), {})).token;
    adminToken = (await issueApiToken(h.hub.ctx, await row('root'), {})).token;
  });
  after(() => h?.close());

  it('GET /hub/api answers the version with the header, without auth', async () => {
    const res = await api('');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { version: string };
    assert.match(body.version, /^\d+\.\d+\.\d+$/);
    assert.equal(res.headers.get('x-jupyterhub-version'), body.version);
  });

  it('GET /hub/api/user returns the model with expanded scopes; bad tokens get 403', async () => {
    const ok = await api('/user', { token: aliceToken });
    assert.equal(ok.status, 200);
    const m = (await ok.json()) as {
      name: string;
      kind: string;
      admin: boolean;
      scopes: string[];
      servers: object;
    };
    assert.equal(m.name, 'alice');
    assert.equal(m.kind, 'user');
    assert.equal(m.admin, false);
    assert.ok(m.scopes.includes('access:servers!user=alice'));
    assert.ok(m.scopes.includes('users:activity!user=alice'));
    assert.deepEqual(m.servers, {});
    for (const auth of [`token ${'0'.repeat(64)}`, 'token', `Basic ${aliceToken}`, `token ${aliceToken}x`]) {
      const res = await api('/user', { headers: { authorization: auth } });
      assert.equal(res.status, 403, auth.slice(0, 12));
      const body = (await res.json()) as { status: number; message: string };
      assert.equal(body.status, 403);
      assert.ok(!body.message.includes(aliceToken));
    }
    assert.equal((await api('/user')).status, 403);
  });

  it('POST /hub/api/users creates many in one go, skips names taken, and answers 409 when all are', async () => {
    const post = (usernames: string[]) =>
      api('/users', {
        method: 'POST',
        token: adminToken,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ usernames }),
      });
    const first = await post(['many-b', 'many-a', 'many-b']);
    assert.equal(first.status, 201);
    assert.deepEqual(
      ((await first.json()) as { name: string }[]).map((u) => u.name),
      ['many-b', 'many-a'],
      'in request order, duplicates once',
    );
    const second = await post(['many-a', 'many-c']);
    assert.equal(second.status, 201);
    assert.deepEqual(
      ((await second.json()) as { name: string }[]).map((u) => u.name),
      ['many-c'],
    );
    assert.equal((await post(['many-a', 'many-c'])).status, 409);
    const names = Array.from({ length: 1000 }, (_, i) => `bulk-${String(i).padStart(4, '0')}`);
    const bulk = await post(names);
    assert.equal(bulk.status, 201);
    assert.equal(((await bulk.json()) as unknown[]).length, 1000);
    assert.equal((await api('/users/bulk-0999', { token: adminToken })).status, 200);
  });

  it('accepts Bearer as well as token', async () => {
    const res = await api('/user', { headers: { authorization: `Bearer ${aliceToken}` } });
    assert.equal(res.status, 200);
  });

  it('refuses tokens in the URL', async () => {
    const res = await api(`/user?token=${aliceToken}`);
    assert.equal(res.status, 400);
  });

  it('stores tokens only as hashes', async () => {
    const rows = await h.hub.ctx.db.selectFrom('api_tokens').select(['hash', 'prefix']).execute();
    assert.ok(rows.length >= 2);
    for (const r of rows) {
      assert.notEqual(r.hash, aliceToken);
      assert.match(r.hash, /^[0-9a-f]{64}$/);
    }
    assert.ok(rows.some((r) => r.hash === hashToken(aliceToken)));
    const dump = JSON.stringify(await h.hub.ctx.db.selectFrom('api_tokens').selectAll().execute());
    assert.ok(!dump.includes(aliceToken), 'no table row holds the token itself');
  });

  it('lets alice read herself but not bob; an admin reads both', async () => {
    assert.equal((await api('/users/alice', { token: aliceToken })).status, 200);
    assert.equal((await api('/users/bob', { token: aliceToken })).status, 403);
    assert.equal((await api('/users/bob', { token: adminToken })).status, 200);
    assert.equal((await api('/users/nobody', { token: adminToken })).status, 404);
  });

  it('refuses invalid names with 400, never 500', async () => {
    for (const name of ['..%2Fx', '.hidden', 'A', 'x'.repeat(300), '%00', 'a%0Ab', '%E2%80%AE', '-x']) {
      const res = await api(`/users/${name}`, { token: adminToken });
      assert.equal(res.status, 400, name);
      const body = (await res.json()) as { status: number; code: string };
      assert.equal(body.code, 'INVALID_NAME');
    }
    const empty = await api('/users/', { token: adminToken });
    assert.ok(empty.status === 404 || empty.status === 400, `empty name: ${empty.status}`);
  });

  it("refuses starting another user's server", async () => {
    const res = await api('/users/bob/server', { method: 'POST', token: aliceToken });
    assert.equal(res.status, 403);
    // With a body too: the scope is checked before the body, so nothing is revealed about what it may hold.
    const withBody = await api('/users/bob/server', {
      method: 'POST',
      token: aliceToken,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'evil' }),
    });
    assert.equal(withBody.status, 403);
  });

  it('refuses server options: users choose no image, command, env or mounts', async () => {
    for (const body of [{ image: 'evil' }, { cmd: ['sh'] }, { env: { A: '1' } }, { binds: ['/:/host'] }]) {
      const res = await api('/users/alice/server', {
        method: 'POST',
        token: aliceToken,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    assert.equal((h.spawner as unknown as { requests: unknown[] }).requests.length, 0, 'nothing was spawned');
  });

  it('answers malformed JSON, wrong types, unknown fields and prototype pollution with 4xx', async () => {
    const post = (body: string, ct = 'application/json') =>
      api('/users/alice/tokens', {
        method: 'POST',
        token: aliceToken,
        headers: { 'content-type': ct },
        body,
      });
    for (const [body, ct] of [
      ['{"note": ', 'application/json'],
      ['{"note": 5}', 'application/json'],
      ['{"nope": 1}', 'application/json'],
      ['{"__proto__": {"admin": true}}', 'application/json'],
      ['{"constructor": {"prototype": {"admin": true}}}', 'application/json'],
      ['[]', 'application/json'],
      ['note=x', 'text/plain'],
      ['\xff\xfe', 'application/json'],
    ] as const) {
      const res = await post(body, ct);
      assert.ok(res.status >= 400 && res.status < 500, `${body} → ${res.status}`);
      const json = (await res.json()) as { status: number; message: string };
      assert.equal(json.status, res.status);
      assert.ok(!/at .*\.ts:\d+/.test(json.message), 'no stack trace');
    }
    const huge = await post(JSON.stringify({ note: 'x'.repeat(2 * 1024 * 1024) }));
    assert.equal(huge.status, 413);
  });

  it('mints tokens that never exceed their owner', async () => {
    const mint = (scopes: string[]) =>
      api('/users/alice/tokens', {
        method: 'POST',
        token: aliceToken,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ scopes, note: 'test' }),
      });
    const ok = await mint(['read:users!user=alice']);
    assert.equal(ok.status, 201);
    const { token } = (await ok.json()) as { token: string };
    assert.equal((await api('/users/alice', { token })).status, 200);
    assert.equal((await api('/user', { token })).status, 200);
    // It cannot start servers: it lacks the scope.
    assert.equal((await api('/users/alice/server', { method: 'DELETE', token })).status, 403);
    for (const s of ['admin:users', 'read:users!user=bob', 'access:servers!server=bob/', 'shutdown']) {
      assert.equal((await mint([s])).status, 403, s);
    }
  });

  it('needs an XSRF token for cookie-authenticated API calls', async () => {
    const c = new BrowserClient(h.base);
    await login(c, 'alice', 'alice-password');
    const res = await c.request('GET', '/hub/api/user');
    assert.equal(res.status, 403);
    assert.equal((JSON.parse(res.body) as { code: string }).code, 'XSRF_MISSING');
    const home = await c.get('/hub/home');
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(home.body)?.[1] as string;
    const ok = await c.request('GET', '/hub/api/user', { headers: { 'x-xsrftoken': xsrf } });
    assert.equal(ok.status, 200);
  });

  it('answers /user/<name>/api/... for a stopped server with JSON 503', async () => {
    const res = await fetch(`${h.base}/user/alice/api/status`);
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { status: number }).status, 503);
  });

  it('answers unknown API paths with JSON 404', async () => {
    const res = await api('/nope', { token: aliceToken });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { status: number }).status, 404);
  });
});

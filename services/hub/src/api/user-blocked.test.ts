import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient, login, xsrfFrom } from '../testing/browser-client.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { issueApiToken } from './tokens.ts';

const PW = 'correct horse battery';

describe('blocking users: PATCH /hub/api/users/{name} {"blocked"} (real Postgres)', () => {
  let h: Harness;
  let rootToken: string;

  const call = (method: string, path: string, token: string, body?: unknown) =>
    fetch(`${h.base}${path}`, {
      method,
      headers: {
        authorization: `token ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const tokenOf = async (name: string, scopes?: string[]) => {
    const u = await h.hub.ctx.users.byName(name);
    assert.ok(u);
    return (await issueApiToken(h.hub.ctx, u, scopes ? { scopes } : {})).token;
  };
  /** Home as the browser ends up after redirects: the home page itself, or the login page. */
  const homeOf = async (c: BrowserClient) => {
    const res = await c.get('/hub/home');
    return { status: res.status, path: new URL(res.url).pathname, body: res.body };
  };
  const loggedIn = async (name: string) => {
    const c = new BrowserClient(h.base);
    await login(c, name, PW);
    return c;
  };

  before(async () => {
    // carol is blocked by the configuration, which stays authoritative.
    h = await startHarness({ env: { BERTH_BLOCKED_USERS: 'carol' } });
    await h.addUser('root', PW, true);
    for (const u of ['alice', 'bob', 'carol', 'dave']) await h.addUser(u, PW);
    rootToken = await tokenOf('root');
  });
  after(() => h?.close());

  it('an admin blocks a user: their cookie and token fail on the next request, their server stops, login is refused', async () => {
    const alice = await loggedIn('alice');
    assert.equal((await homeOf(alice)).path, '/hub/home');
    const aliceToken = await tokenOf('alice');
    assert.equal((await call('GET', '/hub/api/user', aliceToken)).status, 200);
    const row = await h.hub.ctx.users.byName('alice');
    assert.ok(row);
    assert.equal((await h.hub.ctx.lifecycle.start(row, '')).status, 'ready');

    const res = await call('PATCH', '/hub/api/users/alice', rootToken, { blocked: true });
    assert.equal(res.status, 200);
    const model = (await res.json()) as { blocked: boolean; servers: Record<string, unknown> };
    assert.equal(model.blocked, true);
    assert.deepEqual(model.servers, {}, 'her server stopped');
    assert.equal(await h.hub.ctx.servers.find(row.id, ''), undefined);

    assert.equal((await homeOf(alice)).path, '/hub/login', 'the session cookie no longer works');
    assert.equal((await call('GET', '/hub/api/user', aliceToken)).status, 403, 'the token no longer works');
    const again = new BrowserClient(h.base);
    await login(again, 'alice', PW);
    assert.equal((await homeOf(again)).path, '/hub/login', 'the right password no longer logs her in');

    const started = await call('POST', '/hub/api/users/alice/server', rootToken);
    assert.equal(started.status, 403, 'no server for a blocked user, not even started by an admin');
    assert.equal(await h.hub.ctx.servers.find(row.id, ''), undefined);
    const minted = await call('POST', '/hub/api/users/alice/tokens', rootToken, {
      note: 'for a blocked user',
    });
    assert.equal(minted.status, 403, 'no new token for a blocked user, not even from an admin');
    const listed = (await (await call('GET', '/hub/api/users/alice', rootToken)).json()) as {
      blocked: boolean;
    };
    assert.equal(listed.blocked, true);
  });

  it('unblocking lets the user log in again', async () => {
    const res = await call('PATCH', '/hub/api/users/alice', rootToken, { blocked: false });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { blocked: boolean }).blocked, false);
    const alice = await loggedIn('alice');
    assert.equal((await homeOf(alice)).path, '/hub/home');
  });

  it('a non-admin cannot block, not even with admin:users on that user, and nothing changes', async () => {
    const bobToken = await tokenOf('bob');
    const refused = await call('PATCH', '/hub/api/users/dave', bobToken, { blocked: true });
    assert.equal(refused.status, 403);
    const filtered = await tokenOf('root', ['admin:users!user=dave']);
    const alsoRefused = await call('PATCH', '/hub/api/users/dave', filtered, { blocked: true });
    assert.equal(alsoRefused.status, 403);
    const body = (await alsoRefused.json()) as { status: number; message: string };
    assert.equal(body.status, 403);
    assert.equal((await h.hub.ctx.users.byName('dave'))?.blocked, false);
    assert.equal((await homeOf(await loggedIn('dave'))).path, '/hub/home');
  });

  it('an admin cannot block themselves; a non-boolean is a 400', async () => {
    const self = await call('PATCH', '/hub/api/users/root', rootToken, { blocked: true });
    assert.equal(self.status, 400);
    const bad = await call('PATCH', '/hub/api/users/dave', rootToken, { blocked: 'yes' });
    assert.equal(bad.status, 400);
    assert.equal((await h.hub.ctx.users.byName('root'))?.blocked, false);
  });

  it('BERTH_BLOCKED_USERS stays authoritative: the API cannot unblock carol, who cannot log in', async () => {
    const res = await call('PATCH', '/hub/api/users/carol', rootToken, { blocked: false });
    // Not blocked in the database yet (she was added after the start), so nothing to undo: the PATCH is a no-op.
    assert.equal(res.status, 200);
    await call('PATCH', '/hub/api/users/carol', rootToken, { blocked: true });
    const unblock = await call('PATCH', '/hub/api/users/carol', rootToken, { blocked: false });
    assert.equal(unblock.status, 409);
    assert.match(((await unblock.json()) as { message: string }).message, /BERTH_BLOCKED_USERS/);
    const carol = new BrowserClient(h.base);
    await login(carol, 'carol', PW);
    assert.equal((await homeOf(carol)).path, '/hub/login');
  });

  it('the admin users page shows Block and Unblock, and the blocked badge', async () => {
    const root = await loggedIn('root');
    await call('PATCH', '/hub/api/users/bob', rootToken, { blocked: true });
    const page = (await root.get('/hub/admin/users')).body;
    const row = (name: string) => new RegExp(`<tr data-user="${name}">[\\s\\S]*?</tr>`).exec(page)?.[0] ?? '';
    assert.match(row('bob'), /<span class="badge badge-blocked">blocked<\/span>/);
    assert.match(
      row('bob'),
      /data-method="PATCH" class="inline block-user">.*name="blocked" value="false" data-type="boolean"><button type="submit" class="secondary">Unblock<span class="sr-only"> bob/,
    );
    assert.match(
      row('dave'),
      /name="blocked" value="true" data-type="boolean"><button type="submit" class="secondary">Block<span/,
    );
    assert.doesNotMatch(row('root'), /block-user/, 'no Block button on your own row');
    // What the form sends (berth-forms.js: the hidden boolean as JSON, the page's XSRF token in a header).
    const res = await root.request('PATCH', '/hub/api/users/bob', {
      headers: {
        accept: 'application/json',
        'content-type': 'application/json',
        'x-xsrftoken': xsrfFrom(page),
        'sec-fetch-mode': 'cors',
      },
      body: JSON.stringify({ blocked: false }),
    });
    assert.equal(res.status, 200, res.body);
    assert.doesNotMatch(
      (await root.get('/hub/admin/users')).body,
      /data-user="bob">[^<]*<th[^>]*>bob <span class="badge badge-blocked">/,
    );
  });
});

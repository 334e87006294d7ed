import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { issueApiToken } from '../api/tokens.ts';
import { runInvite } from '../cli/invite.ts';
import { BrowserClient, login, xsrfFrom } from '../testing/browser-client.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';

const home = async (c: BrowserClient) => (await c.request('GET', '/hub/home')).status;

async function loggedIn(h: Harness, name: string, password: string): Promise<BrowserClient> {
  const c = new BrowserClient(h.base);
  const res = await login(c, name, password);
  assert.equal(new URL(res.url).pathname, '/hub/home', `${name} could not log in (${res.status})`);
  return c;
}

/** A JSON call to the REST API with the session cookie and its XSRF token, as the admin page makes it. */
async function api(c: BrowserClient, method: string, path: string, body?: unknown) {
  const page = await c.get('/hub/home');
  return c.request(method, path, {
    headers: {
      'sec-fetch-mode': 'cors',
      'x-xsrftoken': xsrfFrom(page.body),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

describe('local accounts: own password, invitations (real Postgres)', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness();
    await h.addUser('alice', 'old password 1');
    await h.addUser('boss', 'boss password 1', true);
  });
  after(async () => h?.close());

  async function changePassword(c: BrowserClient, fields: Record<string, string>, withXsrf = true) {
    const page = await c.get('/hub/account/password');
    assert.equal(page.status, 200);
    return c.postForm(
      '/hub/account/password',
      { ...(withXsrf ? { _xsrf: xsrfFrom(page.body) } : {}), ...fields },
      false,
    );
  }

  it('lets a user change their own password, needs the current one, and signs out their other sessions', async () => {
    const here = await loggedIn(h, 'alice', 'old password 1');
    const elsewhere = await loggedIn(h, 'alice', 'old password 1');

    const forged = await changePassword(
      here,
      { current: 'old password 1', password: 'new password 2', confirm: 'new password 2' },
      false,
    );
    assert.equal(forged.status, 403, 'no XSRF token, no change');
    const wrong = await changePassword(here, {
      current: 'not my password',
      password: 'new password 2',
      confirm: 'new password 2',
    });
    assert.equal(wrong.status, 403);
    assert.match(wrong.body, /current password is wrong/);
    const differ = await changePassword(here, {
      current: 'old password 1',
      password: 'new password 2',
      confirm: 'new password 3',
    });
    assert.equal(differ.status, 400);
    const short = await changePassword(here, {
      current: 'old password 1',
      password: 'short',
      confirm: 'short',
    });
    assert.equal(short.status, 400);
    assert.equal(await home(elsewhere), 200, 'refused attempts change nothing');

    const ok = await changePassword(here, {
      current: 'old password 1',
      password: 'new password 2',
      confirm: 'new password 2',
    });
    assert.equal(ok.status, 200);
    assert.match(ok.body, /password was changed/);
    assert.equal(await home(here), 200, 'this session goes on');
    assert.equal(await home(elsewhere), 302, 'the other session ended');
    assert.equal((await login(new BrowserClient(h.base), 'alice', 'old password 1')).status, 403);
    await loggedIn(h, 'alice', 'new password 2');
  });

  it('lets an admin invite a person, whose single-use link sets their password and signs them in', async () => {
    const boss = await loggedIn(h, 'boss', 'boss password 1');
    const created = await api(boss, 'POST', '/hub/api/invitations', { username: 'carol', expires_in: 3600 });
    assert.equal(created.status, 201, created.body);
    const inv = JSON.parse(created.body) as { url: string; username: string; expires_at: string };
    assert.equal(inv.username, 'carol');
    assert.ok(inv.url.startsWith('http://127.0.0.1/hub/invite/'));
    const path = new URL(inv.url).pathname;

    const carol = new BrowserClient(h.base);
    const page = await carol.get(path);
    assert.equal(page.status, 200);
    assert.match(page.body, /invited as <strong>carol<\/strong>/);
    const mismatch = await carol.postForm(
      path,
      { _xsrf: xsrfFrom(page.body), password: 'carol password', confirm: 'other password' },
      false,
    );
    assert.equal(mismatch.status, 400, 'a refused form does not use up the invitation');
    const accepted = await carol.postForm(
      path,
      { _xsrf: xsrfFrom(mismatch.body), password: 'carol password', confirm: 'carol password' },
      false,
    );
    assert.equal(accepted.status, 302);
    assert.equal(accepted.headers.get('location'), '/hub/home');
    assert.equal(await home(carol), 200, 'signed in');
    assert.equal((await h.hub.ctx.users.byName('carol'))?.admin, false);

    const again = new BrowserClient(h.base);
    assert.equal((await again.get(path)).status, 404, 'single use');
    await loggedIn(h, 'carol', 'carol password');
  });

  it('refuses invitations that expired, for taken names, and from non-admins', async () => {
    const boss = await loggedIn(h, 'boss', 'boss password 1');
    const taken = await api(boss, 'POST', '/hub/api/invitations', { username: 'alice' });
    assert.equal(taken.status, 409);
    const bad = await api(boss, 'POST', '/hub/api/invitations', { username: 'Not A Name!' });
    assert.equal(bad.status, 400);
    const alice = await loggedIn(h, 'alice', 'new password 2');
    const denied = await api(alice, 'POST', '/hub/api/invitations', { username: 'eve' });
    assert.equal(denied.status, 403);
    // A token that may manage only eve may invite her, but not make her an admin that way.
    const bossRow = await h.hub.ctx.users.byName('boss');
    assert.ok(bossRow);
    const { token } = await issueApiToken({ tokens: h.hub.ctx.tokens }, bossRow, {
      scopes: ['admin:users!user=eve'],
    });
    const withToken = (body: unknown) =>
      fetch(`${h.base}/hub/api/invitations`, {
        method: 'POST',
        headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    assert.equal((await withToken({ username: 'eve', admin: true })).status, 403);
    assert.equal((await withToken({ username: 'mike' })).status, 403, 'only eve');
    assert.equal((await withToken({ username: 'eve' })).status, 201);

    const created = await api(boss, 'POST', '/hub/api/invitations', { username: 'dave' });
    const path = new URL((JSON.parse(created.body) as { url: string }).url).pathname;
    await h.hub.ctx.db
      .updateTable('invitations')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .execute();
    const late = new BrowserClient(h.base);
    assert.equal((await late.get(path)).status, 404);
    assert.equal((await late.get('/hub/invite/guessed-secret-guessed-secret')).status, 404);
    assert.equal(await h.hub.ctx.users.byName('dave'), undefined);
  });

  it('`berth invite` prints a working link', async () => {
    const out = await runInvite(h.hub.ctx.db, h.hub.ctx.config, 'frank', { admin: true, expiresIn: '600' });
    const url = out.split('\n')[0] ?? '';
    assert.match(out, /for frank, admin; single use/);
    const frank = new BrowserClient(h.base);
    const page = await frank.get(new URL(url).pathname);
    const res = await frank.postForm(
      new URL(url).pathname,
      { _xsrf: xsrfFrom(page.body), password: 'frank password', confirm: 'frank password' },
      false,
    );
    assert.equal(res.status, 302);
    assert.equal((await h.hub.ctx.users.byName('frank'))?.admin, true);
  });

  it('has no signup page unless it is enabled', async () => {
    assert.equal((await new BrowserClient(h.base).request('GET', '/hub/signup')).status, 404);
  });
});

describe('open signup (BERTH_LOCAL_SIGNUP=1)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { BERTH_LOCAL_SIGNUP: '1', BERTH_ALLOWED_USERS: 'gina,hank' } });
  });
  after(async () => h?.close());

  async function signup(name: string, password = 'a fine password') {
    const c = new BrowserClient(h.base);
    const page = await c.get('/hub/signup');
    assert.equal(page.status, 200);
    const res = await c.postForm(
      '/hub/signup',
      { _xsrf: xsrfFrom(page.body), username: name, password, confirm: password },
      false,
    );
    return { c, res };
  }

  it('creates an account and signs it in; a taken name is refused', async () => {
    const { c, res } = await signup('gina');
    assert.equal(res.status, 302);
    assert.equal(await home(c), 200);
    assert.equal((await signup('gina')).res.status, 409);
  });

  it('still applies the allowed sets, and leaves no account behind when they refuse', async () => {
    const { res } = await signup('mallory');
    assert.equal(res.status, 403);
    assert.equal(await h.hub.ctx.users.byName('mallory'), undefined);
  });
});

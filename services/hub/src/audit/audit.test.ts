import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { issueApiToken } from '../api/tokens.ts';
import { BrowserClient, login } from '../testing/browser-client.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import type { AuditEntry } from './audit-log.ts';

/** Every kind of audited event lands in the log, and only admins can read it (real Postgres, real hub). */
describe('audit log (real Postgres)', () => {
  let h: Harness;
  let adminToken: string;
  let aliceToken: string;

  const api = (path: string, init: RequestInit & { token?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set('authorization', `token ${init.token}`);
    if (init.body) headers.set('content-type', 'application/json');
    return fetch(`${h.base}/hub/api${path}`, { ...init, headers });
  };
  async function entries(query: string): Promise<AuditEntry[]> {
    const res = await api(`/audit?${query}`, { token: adminToken });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as AuditEntry[];
  }

  before(async () => {
    h = await startHarness();
    await h.addUser('alice', 'alice-password');
    await h.addUser('root', 'root-password', true);
    const root = await h.hub.ctx.users.byName('root');
    const alice = await h.hub.ctx.users.byName('alice');
    assert.ok(root && alice);
    adminToken = (await issueApiToken(h.hub.ctx, root, {})).token;
    aliceToken = (await issueApiToken(h.hub.ctx, alice, {})).token;
  });
  after(() => h?.close());

  it('records successful and failed logins, and logouts, never the password', async () => {
    const c = new BrowserClient(h.base);
    const bad = await login(c, 'alice', 'wrong-secret-pw');
    assert.equal(bad.status, 403);
    const good = await login(c, 'alice', 'alice-password');
    assert.ok(good.status < 400);
    const home = await c.get('/hub/home');
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(home.body)?.[1] as string;
    await c.postForm('/hub/logout', { _xsrf: xsrf });

    const logins = await entries('action=login&user=alice');
    assert.deepEqual(
      logins.map((e) => [e.outcome, e.actor]),
      [
        ['success', 'alice'],
        ['failure', null],
      ],
    );
    assert.equal(logins[1]?.detail.reason, 'invalid');
    const logouts = await entries('action=logout');
    assert.deepEqual(
      logouts.map((e) => e.actor),
      ['alice'],
    );
    const all = JSON.stringify(await entries('limit=200'));
    assert.ok(!all.includes('wrong-secret-pw') && !all.includes('alice-password'), 'no password in the log');
  });

  it('records admin actions on users, with the admin as actor and the user as target', async () => {
    assert.equal((await api('/users/carol', { method: 'POST', token: adminToken })).status, 201);
    const patch = await api('/users/carol', { method: 'PATCH', token: adminToken, body: '{"admin":true}' });
    assert.equal(patch.status, 200);
    assert.equal((await api('/users/carol', { method: 'DELETE', token: adminToken })).status, 204);
    const got = await entries('user=carol&action=user.');
    assert.deepEqual(got.map((e) => [e.action, e.actor, e.target_user]).reverse(), [
      ['user.create', 'root', 'carol'],
      ['user.update', 'root', 'carol'],
      ['user.delete', 'root', 'carol'],
    ]);
    assert.deepEqual(got[1]?.detail.body, { admin: true });
  });

  it('records token creation and revocation, without the token', async () => {
    const res = await api('/users/alice/tokens', {
      method: 'POST',
      token: aliceToken,
      body: '{"note":"ci"}',
    });
    assert.equal(res.status, 201);
    const created = (await res.json()) as { id: string; token: string };
    const del = await api(`/users/alice/tokens/${created.id}`, { method: 'DELETE', token: adminToken });
    assert.equal(del.status, 204);
    const got = await entries('action=token.&user=alice');
    assert.deepEqual(
      got.map((e) => [e.action, e.actor, e.target]),
      [
        ['token.delete', 'root', `token ${created.id}`],
        ['token.create', 'alice', null],
      ],
    );
    assert.ok(!JSON.stringify(got).includes(created.token), 'the token itself is never logged');
  });

  it("records starting and stopping another user's server, and an admin's OAuth access to it", async () => {
    assert.equal((await api('/users/alice/server', { method: 'POST', token: adminToken })).status, 201);
    const admin = new BrowserClient(h.base);
    await login(admin, 'root', 'root-password');
    const q = new URLSearchParams({
      client_id: 'jupyterhub-user-alice',
      redirect_uri: '/user/alice/oauth_callback',
      response_type: 'code',
      state: 's',
    });
    const res = await admin.request('GET', `/hub/api/oauth2/authorize?${q}`);
    assert.equal(res.status, 302, res.body);
    assert.equal((await api('/users/alice/server', { method: 'DELETE', token: adminToken })).status, 204);
    const got = await entries('user=alice&action=server.');
    assert.deepEqual(got.map((e) => [e.action, e.actor, e.target]).reverse(), [
      ['server.start', 'root', 'server alice/'],
      ['server.access', 'root', 'server alice/'],
      ['server.stop', 'root', 'server alice/'],
    ]);
  });

  it('records admin actions on groups and profiles', async () => {
    assert.equal((await api('/groups/physics', { method: 'POST', token: adminToken })).status, 201);
    const add = await api('/groups/physics/users', {
      method: 'POST',
      token: adminToken,
      body: '{"users":["alice"]}',
    });
    assert.equal(add.status, 200, await add.clone().text());
    assert.equal((await api('/groups/physics', { method: 'DELETE', token: adminToken })).status, 204);
    const image = `sha256:${'7'.repeat(64)}`;
    const made = await api('/profiles', {
      method: 'POST',
      token: adminToken,
      body: JSON.stringify({ name: 'tiny', image }),
    });
    assert.equal(made.status, 201, await made.clone().text());
    const groups = await entries('action=group.&actor=root');
    assert.deepEqual(groups.map((e) => [e.action, e.target]).reverse(), [
      ['group.create', 'group physics'],
      ['group.members.add', 'group physics'],
      ['group.delete', 'group physics'],
    ]);
    assert.deepEqual(groups[1]?.detail.body, { users: ['alice'] });
    const profiles = await entries('action=profile.&actor=root');
    assert.deepEqual(
      profiles.map((e) => [e.action, e.outcome]),
      [['profile.create', 'success']],
    );
    assert.equal((profiles[0]?.detail.body as { image?: string } | undefined)?.image, image);
  });

  it('records refused admin actions as denied', async () => {
    assert.equal((await api('/users/root', { method: 'DELETE', token: aliceToken })).status, 403);
    const got = await entries('outcome=denied&actor=alice');
    assert.deepEqual(
      got.map((e) => [e.action, e.target_user]),
      [['user.delete', 'root']],
    );
  });

  it('is readable by admins only, paginated and filtered; bad filters get 400', async () => {
    assert.equal((await api('/audit', { token: aliceToken })).status, 403);
    assert.equal((await api('/audit')).status, 403);
    const page = await api('/audit?limit=2&action=login', {
      token: adminToken,
      headers: { accept: 'application/jupyterhub-pagination+json' },
    });
    const body = (await page.json()) as {
      items: AuditEntry[];
      _pagination: { total: number; next: unknown };
    };
    assert.equal(body.items.length, 2);
    assert.ok(body._pagination.total >= 3);
    assert.ok(body._pagination.next);
    for (const bad of [
      'since=yesterday',
      'until=2026-13-45',
      'outcome=maybe',
      'action=DROP%20TABLE',
      'limit=x',
    ]) {
      const res = await api(`/audit?${bad}`, { token: adminToken });
      assert.equal(res.status, 400, bad);
      assert.equal(((await res.json()) as { status: number }).status, 400);
    }
    const future = await entries('since=2999-01-01');
    assert.deepEqual(future, []);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { issueApiToken } from './tokens.ts';

// The token → user lookup is one joined query with nothing cached: every change must count on the very next call.
describe('token identity (real Postgres): changes take effect on the next request', () => {
  let h: Harness;
  let adminToken: string;

  const api = (path: string, token: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `token ${token}`);
    if (init.body) headers.set('content-type', 'application/json');
    return fetch(`${h.base}/hub/api${path}`, { ...init, headers });
  };
  const tokenFor = async (name: string, body: { expires_in?: number } = {}) => {
    const u = await h.hub.ctx.users.byName(name);
    assert.ok(u, name);
    return issueApiToken(h.hub.ctx, u, body);
  };

  before(async () => {
    h = await startHarness();
    await h.addUser('root', 'root-password', true);
    adminToken = (await tokenFor('root')).token;
  });
  after(() => h?.close());

  it('answers the token owner with the token id, from the joined lookup', async () => {
    await h.addUser('carol', 'carol-password');
    const t = await tokenFor('carol');
    const res = await api('/user', t.token);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { name: string; admin: boolean; token_id: string; scopes: string[] };
    assert.equal(body.name, 'carol');
    assert.equal(body.admin, false);
    assert.equal(body.token_id, t.id);
    assert.ok(body.scopes.includes('read:users!user=carol'), body.scopes.join(' '));
  });

  it('a revoked token fails on the very next request', async () => {
    await h.addUser('dave', 'dave-password');
    const t = await tokenFor('dave');
    assert.equal((await api('/user', t.token)).status, 200);
    const del = await api(`/users/dave/tokens/${t.id}`, adminToken, { method: 'DELETE' });
    assert.equal(del.status, 204);
    assert.equal((await api('/user', t.token)).status, 403);
  });

  it('an expired token fails', async () => {
    await h.addUser('erin', 'erin-password');
    const t = await tokenFor('erin', { expires_in: 1 });
    await h.hub.ctx.db
      .updateTable('api_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', Number(t.id.slice(1)))
      .execute();
    assert.equal((await api('/user', t.token)).status, 403);
  });

  it("a deleted user's token fails on the very next request", async () => {
    await h.addUser('frank', 'frank-password');
    const t = await tokenFor('frank');
    assert.equal((await api('/user', t.token)).status, 200);
    assert.equal((await api('/users/frank', adminToken, { method: 'DELETE' })).status, 204);
    assert.equal((await api('/user', t.token)).status, 403);
  });

  it('taking admin away removes admin scopes from an existing token on the next request', async () => {
    await h.addUser('gina', 'gina-password', true);
    const t = await tokenFor('gina');
    assert.equal((await api('/users', t.token)).status, 200);
    const patch = await api('/users/gina', adminToken, {
      method: 'PATCH',
      body: JSON.stringify({ admin: false }),
    });
    assert.equal(patch.status, 200);
    const me = (await (await api('/user', t.token)).json()) as { admin: boolean; scopes: string[] };
    assert.equal(me.admin, false);
    assert.ok(!me.scopes.includes('admin:users'), me.scopes.join(' '));
    assert.equal((await api('/users', t.token)).status, 403);
  });
});

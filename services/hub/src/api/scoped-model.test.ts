import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { issueApiToken } from './tokens.ts';

/** GET /users shows each field to the scopes that reveal it, as JupyterHub does (jupyterhub-idle-culler needs it). */
describe('user models cut to the caller’s scopes (real Postgres)', () => {
  let h: Harness;
  const list = async (scopes: string[]) => {
    const root = await h.hub.ctx.users.byName('root');
    assert.ok(root);
    const { token } = await issueApiToken(h.hub.ctx, root, { scopes });
    const res = await fetch(`${h.base}/hub/api/users`, { headers: { authorization: `token ${token}` } });
    assert.equal(res.status, 200);
    const users = (await res.json()) as Record<string, unknown>[];
    return users.find((u) => u.name === 'alice') as Record<string, unknown>;
  };

  before(async () => {
    h = await startHarness();
    await h.addUser('root', 'root-password', true);
    await h.addUser('alice', 'alice-password');
    const alice = await h.hub.ctx.users.byName('alice');
    assert.ok(alice);
    const started = await h.hub.ctx.lifecycle.start(alice, '');
    assert.ok(['ready', 'pending'].includes(started.status), JSON.stringify(started));
  });
  after(() => h?.close());

  it("jupyterhub-idle-culler's scopes see last_activity and servers, not the rest", async () => {
    const alice = await list(['list:users', 'read:users:activity', 'read:servers', 'delete:servers']);
    assert.deepEqual(Object.keys(alice).sort(), ['admin', 'kind', 'last_activity', 'name', 'servers']);
    assert.ok((alice.servers as Record<string, unknown>)[''], 'the default server is listed');
  });

  it('list:users alone sees kind, name and admin; read:users sees the whole model', async () => {
    assert.deepEqual(Object.keys(await list(['list:users'])).sort(), ['admin', 'kind', 'name']);
    const full = await list(['list:users', 'read:users', 'read:servers']);
    for (const k of ['groups', 'created', 'last_activity', 'server', 'pending', 'servers', 'roles']) {
      assert.ok(k in full, k);
    }
  });
});

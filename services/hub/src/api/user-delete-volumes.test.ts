import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StorageAction, StorageOutcome } from '../spawner/spawner.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { ListeningSpawner } from '../testing/listening-spawner.ts';
import { issueApiToken } from './tokens.ts';

/** Records what the hub asks to do with a deleted user's storage; can be told to fail like a busy engine. */
class StorageRecordingSpawner extends ListeningSpawner {
  readonly disposed: [string, StorageAction][] = [];
  failWith: string | undefined;
  async disposeStorage(user: string, action: StorageAction): Promise<StorageOutcome[]> {
    if (this.failWith) throw new Error(this.failWith);
    this.disposed.push([user, action]);
    return [
      { volume: `berth-home-${user}`, action: action === 'archive' ? 'archived' : 'deleted', archive: 'x' },
    ];
  }
}

describe('DELETE /hub/api/users/{name} and the home volumes', () => {
  let h: Harness;
  let adminToken: string;
  let managerToken: string;
  const spawner = new StorageRecordingSpawner();

  const del = (name: string, query = '', token = adminToken) =>
    fetch(`${h.base}/hub/api/users/${name}${query}`, {
      method: 'DELETE',
      headers: { authorization: `token ${token}` },
    });
  const userExists = async (name: string) => (await h.hub.ctx.users.byName(name)) !== undefined;

  before(async () => {
    h = await startHarness({ spawner });
    await h.addUser('root', 'root-password-123', true);
    for (const u of ['ann', 'bea', 'cal', 'dee', 'eve', 'fay']) await h.addUser(u, 'password-1234567');
    const root = await h.hub.ctx.users.byName('root');
    assert.ok(root);
    adminToken = (await issueApiToken(h.hub.ctx, root, {})).token;
    // May delete users, but holds no unfiltered admin:users: may not choose the volume policy.
    managerToken = (await issueApiToken(h.hub.ctx, root, { scopes: ['delete:users'] })).token;
  });
  after(() => h?.close());

  it('the configured policy (archive by default) is applied, after the servers stopped', async () => {
    assert.equal(h.hub.ctx.config.volumes.onUserDelete, 'archive');
    const ann = await h.hub.ctx.users.byName('ann');
    assert.ok(ann);
    assert.equal((await h.hub.ctx.lifecycle.start(ann, '')).status, 'ready');
    const res = await del('ann');
    assert.equal(res.status, 204);
    assert.deepEqual(spawner.disposed.at(-1), ['ann', 'archive']);
    assert.equal(await h.hub.ctx.servers.find(ann.id, ''), undefined, 'server stopped first');
    assert.equal(await userExists('ann'), false);
  });

  it('an admin may choose delete or keep for one request', async () => {
    assert.equal((await del('bea', '?volumes=delete')).status, 204);
    assert.deepEqual(spawner.disposed.at(-1), ['bea', 'delete']);
    const before = spawner.disposed.length;
    assert.equal((await del('cal', '?volumes=keep')).status, 204);
    assert.equal(spawner.disposed.length, before, 'keep touches nothing');
    assert.equal(await userExists('cal'), false);
  });

  it('an unknown choice is a 400 and changes nothing', async () => {
    const before = spawner.disposed.length;
    const res = await del('dee', '?volumes=shred');
    assert.equal(res.status, 400);
    const body = (await res.json()) as { status: number; message: string };
    assert.equal(body.status, 400);
    assert.match(body.message, /archive, delete or keep/);
    assert.equal(spawner.disposed.length, before);
    assert.equal(await userExists('dee'), true);
  });

  it('a caller without unfiltered admin:users cannot choose the policy, but can delete', async () => {
    const before = spawner.disposed.length;
    const res = await del('eve', '?volumes=delete', managerToken);
    assert.equal(res.status, 403);
    assert.equal(await userExists('eve'), true);
    assert.equal(spawner.disposed.length, before);
    assert.equal((await del('eve', '', managerToken)).status, 204);
    assert.deepEqual(spawner.disposed.at(-1), ['eve', 'archive'], 'with the configured policy');
  });

  it('when the volumes cannot be handled the user is not deleted (503, nothing lost)', async () => {
    spawner.failWith = 'volume berth-home-fay is in use';
    try {
      const res = await del('fay');
      assert.equal(res.status, 503);
      const body = (await res.json()) as { message: string };
      assert.match(body.message, /fay was not deleted.*in use/);
      assert.equal(await userExists('fay'), true);
    } finally {
      spawner.failWith = undefined;
    }
    assert.equal((await del('fay')).status, 204, 'and a retry succeeds');
  });
});

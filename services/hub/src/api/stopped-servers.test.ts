import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StorageAction, StorageOutcome } from '../spawner/spawner.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { ListeningSpawner } from '../testing/listening-spawner.ts';
import { issueApiToken } from './tokens.ts';

/** Records which home volumes the hub asks to archive or delete (only the removed server's may be touched). */
class StorageRecordingSpawner extends ListeningSpawner {
  readonly disposed: [string, StorageAction, string | undefined][] = [];
  failWith: string | undefined;
  async disposeStorage(user: string, action: StorageAction, serverName?: string): Promise<StorageOutcome[]> {
    if (this.failWith) throw new Error(this.failWith);
    this.disposed.push([user, action, serverName]);
    return [];
  }
}

interface ServerModel {
  name: string;
  ready: boolean;
  pending: string | null;
  stopped: boolean;
  started: string | null;
  last_activity: string | null;
  url: string;
  user_options: Record<string, unknown>;
}
interface UserModel {
  name: string;
  server: string | null;
  pending: string | null;
  servers: Record<string, ServerModel>;
}

/**
 * JupyterHub's semantics for stopped servers: `DELETE …/servers/{name}` stops a server and it keeps its record
 * (listed with `?include_stopped_servers`, startable again); `{"remove": true}` removes a named server for good.
 */
describe('stopped servers keep their record; remove deletes a named one (real Postgres)', () => {
  let h: Harness;
  const spawner = new StorageRecordingSpawner();
  const tokens: Record<string, string> = {};

  const api = (path: string, as: string, init: { method?: string; body?: unknown; accept?: string } = {}) =>
    fetch(`${h.base}/hub/api${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `token ${tokens[as]}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(init.accept ? { accept: init.accept } : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  const userModel = async (path: string, as = 'alice') => {
    const res = await api(path, as);
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as UserModel;
  };
  const recordOf = async (user: string, server: string) => {
    const u = await h.hub.ctx.users.byName(user);
    assert.ok(u);
    return h.hub.ctx.servers.record(u.id, server);
  };

  before(async () => {
    h = await startHarness({ spawner });
    await h.addUser('root', 'root-password-123', true);
    for (const u of ['alice', 'bob']) await h.addUser(u, 'password-1234567');
    for (const name of ['root', 'alice', 'bob']) {
      const u = await h.hub.ctx.users.byName(name);
      assert.ok(u);
      tokens[name] = (await issueApiToken(h.hub.ctx, u, {})).token;
    }
  });
  after(() => h?.close());

  it('a stopped named server keeps its record, is listed only with include_stopped_servers, and starts again', async () => {
    assert.equal((await api('/users/alice/servers/lab', 'alice', { method: 'POST' })).status, 201);
    assert.equal((await api('/users/alice/server', 'alice', { method: 'POST' })).status, 201);
    const running = await recordOf('alice', 'lab');
    assert.equal(running?.state, 'running');
    assert.equal(running.profile_name, 'default');
    await h.hub.ctx.servers.touch(running.id, new Date('2026-01-02T03:04:05Z'));

    assert.equal((await api('/users/alice/servers/lab', 'alice', { method: 'DELETE' })).status, 204);
    assert.equal((await api('/users/alice/server', 'alice', { method: 'DELETE' })).status, 204);
    assert.equal(spawner.running, 0, 'both processes stopped');
    const kept = await recordOf('alice', 'lab');
    assert.equal(kept?.state, 'stopped', 'the record stays');
    assert.equal(kept.id, running.id);
    assert.equal(h.routes.routes.size, 0, 'no route to a stopped server');

    // As JupyterHub ≥ 3: without the parameter only active servers.
    const active = await userModel('/users/alice');
    assert.deepEqual(active.servers, {});
    assert.equal(active.server, null);
    assert.equal(active.pending, null);
    assert.deepEqual((await userModel('/users/alice?include_stopped_servers=0')).servers, {});
    assert.deepEqual((await userModel('/users/alice?include_stopped_servers=false')).servers, {});

    // With it (any value but 0/false, or none), stopped ones too, in JupyterHub's stopped shape.
    for (const q of [
      '?include_stopped_servers',
      '?include_stopped_servers=1',
      '?include_stopped_servers=true',
    ]) {
      const all = await userModel(`/users/alice${q}`);
      assert.deepEqual(Object.keys(all.servers).sort(), ['', 'lab'], q);
      const lab = all.servers.lab;
      assert.ok(lab);
      assert.equal(lab.stopped, true);
      assert.equal(lab.ready, false);
      assert.equal(lab.pending, null);
      assert.equal(lab.started, null);
      assert.equal(lab.last_activity, '2026-01-02T03:04:05.000Z', 'last activity kept');
      assert.equal(lab.url, '/user/alice/lab/');
      assert.deepEqual(lab.user_options, { profile: 'default' }, 'profile kept');
      assert.equal(all.servers['']?.stopped, true, 'the default server too, as JupyterHub');
      assert.equal(all.server, null, 'a stopped default server has no url');
      assert.equal(all.pending, null);
    }
    // The self endpoint honours it too.
    assert.deepEqual(Object.keys((await userModel('/user?include_stopped_servers')).servers).sort(), [
      '',
      'lab',
    ]);

    // Started again: the same record, running.
    const again = await api('/users/alice/servers/lab', 'alice', { method: 'POST' });
    assert.equal(again.status, 201);
    const model = (await again.json()) as ServerModel;
    assert.equal(model.ready, true);
    assert.equal(model.stopped, false);
    assert.ok(model.started);
    const restarted = await recordOf('alice', 'lab');
    assert.equal(restarted?.id, running.id, 'the stopped record was reused');
    assert.equal(restarted.state, 'running');
    const listed = await userModel('/users/alice');
    assert.deepEqual(Object.keys(listed.servers), ['lab'], 'active servers only');
  });

  it('the users list honours include_stopped_servers, and its next page keeps it', async () => {
    const list = async (q: string) => {
      const res = await api(`/users${q}`, 'root');
      assert.equal(res.status, 200);
      return (await res.json()) as UserModel[];
    };
    const alice = (rows: UserModel[]) => rows.find((u) => u.name === 'alice');
    assert.deepEqual(Object.keys(alice(await list(''))?.servers ?? {}), ['lab']);
    assert.deepEqual(Object.keys(alice(await list('?include_stopped_servers'))?.servers ?? {}).sort(), [
      '',
      'lab',
    ]);
    const paged = await api('/users?include_stopped_servers=1&limit=1', 'root', {
      accept: 'application/jupyterhub-pagination+json',
    });
    const body = (await paged.json()) as { _pagination: { next: { url: string } | null } };
    assert.ok(body._pagination.next);
    assert.match(body._pagination.next.url, /[?&]include_stopped_servers=1(&|$)/);
  });

  it('DELETE of a named server that does not exist is a 404; of a stopped default server a 204', async () => {
    const res = await api('/users/alice/servers/nope', 'alice', { method: 'DELETE' });
    assert.equal(res.status, 404);
    const body = (await res.json()) as { status: number; message: string };
    assert.equal(body.status, 404);
    assert.match(body.message, /alice has no server named 'nope'/);
    assert.equal((await api('/users/alice/server', 'alice', { method: 'DELETE' })).status, 204);
  });

  it('{"remove": true} stops a running named server and removes it; its volume gets the configured policy', async () => {
    assert.equal((await recordOf('alice', 'lab'))?.state, 'running');
    const before = spawner.disposed.length;
    const res = await api('/users/alice/servers/lab', 'alice', { method: 'DELETE', body: { remove: true } });
    assert.equal(res.status, 204);
    assert.equal(await recordOf('alice', 'lab'), undefined, 'record gone');
    assert.equal(spawner.running, 0);
    assert.equal(h.routes.routes.size, 0);
    assert.deepEqual(
      spawner.disposed.slice(before),
      [['alice', 'archive', 'lab']],
      'only this server volume',
    );
    assert.deepEqual((await userModel('/users/alice?include_stopped_servers')).servers.lab, undefined);
    assert.equal(
      (await api('/users/alice/servers/lab', 'alice', { method: 'DELETE', body: { remove: true } })).status,
      404,
      'removing again: no such server',
    );
  });

  it('the owner chooses what happens to the volume: ?volumes=keep touches nothing, delete deletes', async () => {
    for (const [name, choice] of [
      ['keepme', 'keep'],
      ['dropme', 'delete'],
    ] as const) {
      assert.equal((await api(`/users/alice/servers/${name}`, 'alice', { method: 'POST' })).status, 201);
      assert.equal((await api(`/users/alice/servers/${name}`, 'alice', { method: 'DELETE' })).status, 204);
      assert.equal((await recordOf('alice', name))?.state, 'stopped');
      const before = spawner.disposed.length;
      const res = await api(`/users/alice/servers/${name}?volumes=${choice}`, 'alice', {
        method: 'DELETE',
        body: { remove: true },
      });
      assert.equal(res.status, 204);
      assert.equal(await recordOf('alice', name), undefined);
      assert.deepEqual(spawner.disposed.slice(before), choice === 'keep' ? [] : [['alice', 'delete', name]]);
    }
  });

  it('bad input is a 400 that changes nothing; the default server cannot be removed', async () => {
    assert.equal((await api('/users/alice/servers/stay', 'alice', { method: 'POST' })).status, 201);
    assert.equal((await api('/users/alice/servers/stay', 'alice', { method: 'DELETE' })).status, 204);
    const cases: [string, unknown, RegExp][] = [
      ['/users/alice/server', { remove: true }, /Cannot delete the default server/],
      ['/users/alice/servers/stay', { remove: 'yes' }, /remove must be true or false/],
      ['/users/alice/servers/stay?volumes=shred', { remove: true }, /archive, delete or keep/],
      ['/users/alice/servers/stay?volumes=delete', undefined, /only with \{"remove": true\}/],
      ['/users/alice/servers/stay', [true], /body must be an object/],
    ];
    for (const [path, body, why] of cases) {
      const res = await api(path, 'alice', { method: 'DELETE', ...(body === undefined ? {} : { body }) });
      assert.equal(res.status, 400, path);
      const err = (await res.json()) as { status: number; message: string };
      assert.equal(err.status, 400);
      assert.match(err.message, why);
    }
    assert.equal((await recordOf('alice', 'stay'))?.state, 'stopped', 'still there');
  });

  it("a stopped server's last activity report is recorded, as JupyterHub accepts it for any server the user has", async () => {
    const res = await api('/users/alice/activity', 'alice', {
      method: 'POST',
      body: { servers: { stay: { last_activity: '2026-03-04T05:06:07Z' } } },
    });
    assert.equal(res.status, 200);
    const row = await recordOf('alice', 'stay');
    assert.equal(row?.state, 'stopped');
    assert.equal(new Date(row.last_activity ?? 0).toISOString(), '2026-03-04T05:06:07.000Z');
  });

  it('another user cannot stop or remove the server (403), and it stays', async () => {
    const res = await api('/users/alice/servers/stay', 'bob', { method: 'DELETE', body: { remove: true } });
    assert.equal(res.status, 403);
    assert.equal((await recordOf('alice', 'stay'))?.state, 'stopped');
  });

  it('when the volume cannot be handled, the record is removed and the volume kept (503 says so)', async () => {
    spawner.failWith = 'volume berth-home-alice--stay is in use';
    try {
      const res = await api('/users/alice/servers/stay?volumes=delete', 'alice', {
        method: 'DELETE',
        body: { remove: true },
      });
      assert.equal(res.status, 503);
      assert.match(((await res.json()) as { message: string }).message, /stay was removed.*kept.*in use/);
    } finally {
      spawner.failWith = undefined;
    }
  });
});

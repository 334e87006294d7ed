import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { createDatabase, migrateToLatest } from '../db/database.ts';
import { OAuthRepo } from '../db/oauth-repo.ts';
import type { Database, UserRow } from '../db/schema.ts';
import { ServersRepo } from '../db/servers-repo.ts';
import { TokensRepo } from '../db/tokens-repo.ts';
import { UsersRepo } from '../db/users-repo.ts';
import type { Spawner } from '../spawner/spawner.ts';
import {
  FailingSpawner,
  type InMemoryBackend,
  InMemorySpawner,
  UnknownStatusSpawner,
} from '../spawner/testing/index.ts';
import { MemoryRouteTable } from '../testing/memory-route-table.ts';
import { startPostgres } from '../testing/postgres.ts';
import { type LifecycleConfig, type ProgressEvent, ServerManager } from './manager.ts';
import type { ReadyOutcome, WaitOptions } from './wait-ready.ts';

/**
 * Reattach and polling: a "restarted hub" is a new ServerManager on the same database, with a new spawner
 * instance that shares the old one's backend (what the Docker engine holds).
 */

const config: LifecycleConfig = {
  image: 'img',
  port: 8888,
  hubApiUrl: 'http://hub:8081/hub/api',
  publicUrl: 'https://localhost',
  defaultUrl: '/lab',
  startTimeoutMs: 5_000,
  httpTimeoutMs: 1_000,
  memoryBytes: 1 << 30,
  nanoCpus: 1e9,
  pids: 256,
  adminEnv: {},
  slowSpawnMs: 2_000,
};

/** Readiness without sockets: a server answers when the backend runs it. */
const answersWhenRunning =
  (backend: InMemoryBackend) =>
  async (o: WaitOptions): Promise<ReadyOutcome> => {
    const running = [...backend.values()].some(
      (s) => s.running && o.url.startsWith(`http://mem-${s.request.user}:`),
    );
    return running ? { ok: true, version: '5.3.0' } : { ok: false, reason: 'exited', detail: 'gone' };
  };

/** Readiness that never comes: the hub "crashes" while waiting. */
const neverReady = (o: WaitOptions) =>
  new Promise<ReadyOutcome>((resolve) =>
    o.signal?.addEventListener('abort', () => resolve({ ok: false, reason: 'aborted' })),
  );

describe('server lifecycle: reattach after a restart, and the poll loop', { timeout: 120_000 }, () => {
  let pg: StartedPostgreSqlContainer;
  let db: Kysely<Database>;
  let servers: ServersRepo;
  let tokens: TokensRepo;
  let oauth: OAuthRepo;
  let users: UsersRepo;
  let routes: MemoryRouteTable;
  let backend: InMemoryBackend;
  let alice: UserRow;
  const log = pino({ level: 'silent' });

  function hub(spawner: Spawner, waitReady = answersWhenRunning(backend)) {
    return new ServerManager({ servers, tokens, oauth, spawner, routes, config, log, waitReady });
  }

  async function serverTokens(): Promise<number> {
    const r = await db.selectFrom('api_tokens').select('id').where('kind', '=', 'server').execute();
    return r.length;
  }

  async function clients(): Promise<number> {
    return (await db.selectFrom('oauth_clients').select('id').execute()).length;
  }

  before(async () => {
    pg = await startPostgres();
    db = createDatabase(pg.getConnectionUri());
    await migrateToLatest(db);
    servers = new ServersRepo(db);
    tokens = new TokensRepo(db);
    oauth = new OAuthRepo(db);
    users = new UsersRepo(db);
    await users.create('alice', { admin: false, passwordHash: null });
    alice = (await users.byName('alice')) as UserRow;
  });

  after(async () => {
    await db?.destroy();
    await pg?.stop();
  });

  beforeEach(async () => {
    await db.deleteFrom('oauth_clients').execute();
    await db.deleteFrom('api_tokens').execute();
    await db.deleteFrom('servers').execute();
    routes = new MemoryRouteTable();
    backend = new Map();
  });

  test('a running server stays attached across a restart: same process, route, token', async () => {
    const first = hub(new InMemorySpawner({ backend }));
    assert.equal((await first.start(alice, '')).status, 'ready');
    const [id] = backend.keys();
    const restarted = hub(new InMemorySpawner({ backend }));
    const report = await restarted.sweep();
    assert.equal(report.kept, 1);
    assert.equal(report.reaped + report.orphans + report.resumed, 0);
    assert.deepEqual([...backend.keys()], [id], 'the same server, never restarted');
    assert.equal((await servers.find(alice.id, ''))?.state, 'running');
    assert.ok(routes.routes.has('/user/alice'));
    assert.equal(await serverTokens(), 1);
    assert.equal((await restarted.start(alice, '')).status, 'ready');
    assert.deepEqual([...backend.keys()], [id]);
  });

  test('kept servers are reattached (e.g. a recreated proxy reconnected to their network)', async () => {
    await hub(new InMemorySpawner({ backend })).start(alice, '');
    const spawner = new InMemorySpawner({ backend });
    const reattached: unknown[] = [];
    const withReattach = Object.assign(spawner, {
      reattach: async (state: unknown) => {
        reattached.push(state);
      },
    });
    assert.equal((await hub(withReattach).sweep()).kept, 1);
    assert.equal(reattached.length, 1);
  });

  test('a server that died while the hub was down is cleaned up, shown stopped, and starts again', async () => {
    const first = hub(new InMemorySpawner({ backend }));
    const out = await first.start(alice, '');
    assert.equal(out.status, 'ready');
    const spawner = new InMemorySpawner({ backend });
    spawner.crash(out.status === 'ready' ? (out.server.spawner_state as Record<string, string>) : {}, 137);
    const restarted = hub(spawner);
    const report = await restarted.sweep();
    assert.equal(report.reaped, 1);
    assert.equal(await servers.find(alice.id, ''), undefined);
    assert.equal(routes.routes.size, 0);
    assert.equal(await serverTokens(), 0);
    assert.equal(await clients(), 0);
    assert.equal(backend.size, 0, 'the dead container is removed');
    const failure = restarted.lastFailure(alice, '');
    assert.equal(failure?.code, 'SERVER_STOPPED');
    assert.match(failure?.message ?? '', /code 137/);
    assert.match(failure?.logs ?? '', /exited with 137/);
    assert.equal((await restarted.start(alice, '')).status, 'ready');
    assert.equal(spawner.runningCount, 1);
    assert.equal(await serverTokens(), 1);
  });

  test('the poll loop notices a dead server while the hub runs', async () => {
    const spawner = new InMemorySpawner({ backend });
    const h = hub(spawner);
    const out = await h.start(alice, '');
    assert.equal(out.status, 'ready');
    spawner.crash(out.status === 'ready' ? (out.server.spawner_state as Record<string, string>) : {}, 1);
    assert.equal((await h.sweep()).reaped, 1);
    assert.equal(await servers.find(alice.id, ''), undefined);
    assert.equal(routes.routes.size, 0);
    assert.equal((await h.sweep()).reaped, 0, 'nothing left to do');
  });

  test('start() on a record whose server died restarts it instead of answering ready', async () => {
    const spawner = new InMemorySpawner({ backend });
    const h = hub(spawner);
    const out = await h.start(alice, '');
    spawner.crash(out.status === 'ready' ? (out.server.spawner_state as Record<string, string>) : {}, 1);
    const again = await h.start(alice, '');
    assert.equal(again.status, 'ready');
    assert.equal(spawner.runningCount, 1);
    assert.equal(await serverTokens(), 1, 'the old token went with the old server');
  });

  test('"unknown" never reaps: the server, its record and its route stay', async () => {
    const first = hub(new InMemorySpawner({ backend }));
    await first.start(alice, '');
    const blind = new UnknownStatusSpawner({ inner: new InMemorySpawner({ backend }) });
    const restarted = hub(blind);
    const report = await restarted.sweep();
    assert.equal(report.unknown, 1);
    assert.equal(report.reaped + report.orphans, 0);
    assert.equal((await servers.find(alice.id, ''))?.state, 'running');
    assert.ok(routes.routes.has('/user/alice'));
    assert.equal(blind.inner.runningCount, 1);
    blind.unreachable = false;
    assert.equal((await restarted.sweep()).kept, 1);
  });

  test('a spawn interrupted by a crash ends ready when its server answers', async () => {
    const crashed = hub(new InMemorySpawner({ backend }), neverReady);
    assert.equal((await crashed.start(alice, '')).status, 'pending');
    assert.equal((await servers.find(alice.id, ''))?.state, 'pending');
    const restarted = hub(new InMemorySpawner({ backend }));
    assert.equal((await restarted.sweep()).resumed, 1);
    assert.ok(restarted.isPending(alice, ''), 'a user who asks now joins the resumed start');
    const out = await restarted.settled(alice, '');
    assert.equal(out?.status, 'ready');
    assert.equal((await servers.find(alice.id, ''))?.state, 'running');
    assert.ok(routes.routes.has('/user/alice'));
    assert.equal(backend.size, 1);
  });

  test('a crash before the state was saved: the server is found by its labels (list)', async () => {
    const row = await servers.claim(alice.id, '');
    assert.ok(row);
    await new InMemorySpawner({ backend }).start({
      user: 'alice',
      serverName: '',
      image: 'img',
      env: {},
      port: 8888,
    });
    const restarted = hub(new InMemorySpawner({ backend }));
    await restarted.sweep();
    assert.equal((await restarted.settled(alice, ''))?.status, 'ready');
    const saved = await servers.find(alice.id, '');
    assert.equal(saved?.state, 'running');
    assert.equal(saved?.url, 'http://mem-alice:8888');
    assert.ok(Object.keys(saved?.spawner_state ?? {}).length > 0, 'the found state is persisted');
  });

  test('an interrupted spawn whose server died ends cleanly failed, with nothing left behind', async () => {
    const spawner = new InMemorySpawner({ backend });
    const crashed = hub(spawner, neverReady);
    await crashed.start(alice, '');
    const [server] = backend.values();
    assert.ok(server);
    server.running = false;
    server.exitCode = 2;
    const restarted = hub(new InMemorySpawner({ backend }));
    await restarted.sweep();
    const out = await restarted.settled(alice, '');
    assert.equal(out?.status, 'failed');
    assert.equal(await servers.find(alice.id, ''), undefined);
    assert.equal(backend.size, 0);
    assert.equal(await serverTokens(), 0);
    assert.equal(await clients(), 0);
    assert.equal(routes.routes.size, 0);
    assert.equal(restarted.lastFailure(alice, '')?.code, 'EXITED_EARLY');
  });

  test('an interrupted spawn that never created a server ends cleanly failed', async () => {
    await servers.claim(alice.id, '');
    const restarted = hub(new InMemorySpawner({ backend }));
    await restarted.sweep();
    assert.equal((await restarted.settled(alice, ''))?.status, 'failed');
    assert.equal(await servers.find(alice.id, ''), undefined);
    assert.equal((await restarted.start(alice, '')).status, 'ready', 'and starts cleanly afterwards');
  });

  test('a pending record with an unreachable backend stays pending until the backend answers', async () => {
    const crashed = hub(new InMemorySpawner({ backend }), neverReady);
    await crashed.start(alice, '');
    const blind = new UnknownStatusSpawner({ inner: new InMemorySpawner({ backend }) });
    const restarted = hub(blind);
    await restarted.sweep();
    await restarted.settled(alice, '');
    assert.equal(restarted.isPending(alice, ''), false);
    assert.equal((await servers.find(alice.id, ''))?.state, 'pending');
    assert.equal(backend.size, 1, 'nothing reaped while blind');
    blind.unreachable = false;
    await restarted.sweep();
    assert.equal((await restarted.settled(alice, ''))?.status, 'ready');
  });

  test('a stop interrupted by a crash is finished', async () => {
    const first = hub(new InMemorySpawner({ backend }));
    const out = await first.start(alice, '');
    assert.equal(out.status, 'ready');
    if (out.status === 'ready') await servers.setState(out.server.id, 'stopping');
    const report = await hub(new InMemorySpawner({ backend })).sweep();
    assert.equal(report.finishedStops, 1);
    assert.equal(backend.size, 0);
    assert.equal(await servers.find(alice.id, ''), undefined);
    assert.equal(await serverTokens(), 0);
  });

  test('a server without a record is removed; its token is long gone', async () => {
    await new InMemorySpawner({ backend }).start({
      user: 'ghost',
      serverName: 'x',
      image: 'img',
      env: {},
      port: 8888,
    });
    const report = await hub(new InMemorySpawner({ backend })).sweep();
    assert.equal(report.orphans, 1);
    assert.equal(backend.size, 0);
  });

  test('progress of a failed start ends with a failed event, and says why afterwards too', async () => {
    const h = hub(new FailingSpawner({ message: 'no room on the engine' }));
    let done = false;
    const started = h.start(alice, '').finally(() => {
      done = true;
    });
    // start() registers its flight after a first database read; watch from then on (or from its end).
    while (!done && !h.isPending(alice, '')) await new Promise((r) => setTimeout(r, 2));
    const seen: ProgressEvent[] = [];
    for await (const ev of h.progress(alice, '')) seen.push(ev);
    assert.equal((await started).status, 'failed');
    assert.equal(seen.at(-1)?.failed, true);
    assert.match(seen.at(-1)?.message ?? '', /no room on the engine/);
    const later: ProgressEvent[] = [];
    for await (const ev of h.progress(alice, '')) later.push(ev);
    assert.equal(later.length, 1);
    assert.equal(later[0]?.failed, true);
  });

  test('progress of a spawn resumed after a restart ends ready with the URL', async () => {
    await hub(new InMemorySpawner({ backend }), neverReady).start(alice, '');
    const restarted = hub(new InMemorySpawner({ backend }));
    await restarted.sweep();
    const seen: ProgressEvent[] = [];
    for await (const ev of restarted.progress(alice, '')) seen.push(ev);
    assert.equal(seen.at(-1)?.ready, true);
    assert.equal(seen.at(-1)?.url, '/user/alice/');
  });

  test('overlapping sweeps share one pass', async () => {
    const h = hub(new InMemorySpawner({ backend }));
    await h.start(alice, '');
    const [a, b] = await Promise.all([h.sweep(), h.sweep()]);
    assert.equal(a, b);
  });
});

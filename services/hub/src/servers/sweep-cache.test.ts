import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { createDatabase, migrateToLatest } from '../db/database.ts';
import { OAuthRepo } from '../db/oauth-repo.ts';
import type { Database, UserRow } from '../db/schema.ts';
import { ServersRepo } from '../db/servers-repo.ts';
import { TokensRepo } from '../db/tokens-repo.ts';
import { UsersRepo } from '../db/users-repo.ts';
import type { SpawnerState, SweepCache } from '../spawner/spawner.ts';
import { InMemorySpawner } from '../spawner/testing/index.ts';
import { MemoryRouteTable } from '../testing/memory-route-table.ts';
import { startPostgres } from '../testing/postgres.ts';
import { ServerManager } from './manager.ts';

/** Reattach needs a lookup every server shares (the network peers: two Docker calls); it counts them. */
class PeerLookupCountingSpawner extends InMemorySpawner {
  lookups = 0;
  async reattach(_state: SpawnerState, cache?: SweepCache): Promise<void> {
    const load = async () => {
      this.lookups++;
      return ['hub', 'proxy'];
    };
    await (cache ? cache.once('peers', load) : load());
  }
}

describe('the sweep looks shared things up once per sweep, not once per server', { timeout: 120_000 }, () => {
  let pg: StartedPostgreSqlContainer;
  let db: Kysely<Database>;

  before(async () => {
    pg = await startPostgres();
    db = createDatabase(pg.getConnectionUri());
    await migrateToLatest(db);
  });
  after(async () => {
    await db?.destroy();
    await pg?.stop();
  });

  test('three running servers, two sweeps: two peer lookups', async () => {
    const users = new UsersRepo(db);
    await users.create('alice', { admin: false, passwordHash: null });
    const alice = (await users.byName('alice')) as UserRow;
    const spawner = new PeerLookupCountingSpawner();
    const hub = new ServerManager({
      servers: new ServersRepo(db),
      tokens: new TokensRepo(db),
      oauth: new OAuthRepo(db),
      spawner,
      routes: new MemoryRouteTable(),
      log: pino({ level: 'silent' }),
      waitReady: async () => ({ ok: true, version: '5.3.0' }),
      config: {
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
      },
    });
    for (const name of ['', 'a', 'b']) assert.equal((await hub.start(alice, name)).status, 'ready');
    assert.equal((await hub.sweep()).kept, 3);
    assert.equal(spawner.lookups, 1, 'one lookup for the whole sweep');
    await hub.sweep();
    assert.equal(spawner.lookups, 2, 'a new sweep looks again (a recreated proxy is found)');
  });
});

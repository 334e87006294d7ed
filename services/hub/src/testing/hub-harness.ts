import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import pino from 'pino';
import { createHub, type Hub } from '../app.ts';
import { hashPassword } from '../auth/password.ts';
import { loadConfig } from '../config/load.ts';
import type { ImageInspector } from '../profiles/images.ts';
import type { Spawner } from '../spawner/spawner.ts';
import { ListeningSpawner } from './listening-spawner.ts';
import { MemoryRouteTable } from './memory-route-table.ts';
import { startPostgres } from './postgres.ts';

export interface Harness {
  readonly hub: Hub;
  readonly base: string;
  readonly routes: MemoryRouteTable;
  readonly spawner: Spawner;
  addUser(name: string, password: string, admin?: boolean): Promise<void>;
  close(): Promise<void>;
}

/** The image of the harness's `default` profile: a pin no engine holds, as fake spawners need none. */
export const HARNESS_IMAGE = `sha256:${'0'.repeat(63)}1`;

/** A real hub on a real Postgres, with a spawner and route table that need no Docker. */
export async function startHarness(
  opts: {
    spawner?: Spawner;
    env?: Record<string, string>;
    slowSpawnMs?: number;
    /** Image checks for profiles; without them, profiles are not checked against an engine. */
    images?: ImageInspector;
  } = {},
): Promise<Harness> {
  const pg: StartedPostgreSqlContainer = await startPostgres();
  const config = loadConfig({
    BERTH_DATABASE_URL: pg.getConnectionUri(),
    BERTH_PUBLIC_URL: 'http://127.0.0.1',
    CONFIGPROXY_AUTH_TOKEN: 'unused-by-the-memory-route-table',
    BERTH_HUB_HOST: '127.0.0.1',
    BERTH_HUB_PORT: '0',
    BERTH_START_TIMEOUT_SECONDS: '10',
    BERTH_LOG_LEVEL: process.env.BERTH_TEST_LOG_LEVEL ?? 'silent',
    // Every test client is 127.0.0.1: tests of the per-client login throttle set their own limit.
    BERTH_LOGIN_ATTEMPTS_PER_MINUTE_PER_CLIENT: '1000',
    // The default profile's image must be pinned, and there is no engine to pin a tag (fake spawners ignore it).
    BERTH_SINGLEUSER_IMAGE: HARNESS_IMAGE,
    ...opts.env,
  });
  const routes = new MemoryRouteTable();
  const spawner = opts.spawner ?? new ListeningSpawner();
  const hub = await createHub(config, {
    spawner,
    routes,
    cookieSecret: 'a'.repeat(64),
    log: pino({ level: config.logLevel }),
    slowSpawnMs: opts.slowSpawnMs ?? 5_000,
    ...(opts.images ? { images: opts.images } : {}),
  });
  const base = await hub.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    hub,
    base,
    routes,
    spawner,
    async addUser(name, password, admin = false) {
      await hub.ctx.users.create(name, { admin, passwordHash: await hashPassword(password) });
    },
    async close() {
      await hub.close();
      const closable = spawner as Partial<{ closeAll(): Promise<void> }>;
      await closable.closeAll?.();
      await pg.stop();
    },
  };
}

/**
 * A real hub driving real Docker, for tests and the spawn benchmark: real Postgres, the real DockerSpawner with
 * the stock single-user image, jupyterhub-singleuser talking to the hub's API. What differs from Compose:
 *
 * - the hub runs in this process on the host, listening on the gateway address of a per-run bridge network, so
 *   servers reach its API there;
 * - the host cannot resolve container names, so server URLs are rewritten to the container's address on that
 *   network (`HostRoutedSpawner`); everything else goes to the DockerSpawner unchanged;
 * - an in-memory route table instead of the proxy, and no internal TLS.
 */
import { createServer } from 'node:net';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import Dockerode from 'dockerode';
import pino from 'pino';
import { issueApiToken } from '../api/tokens.ts';
import { createHub, type Hub } from '../app.ts';
import { loadConfig } from '../config/load.ts';
import type { UserRow } from '../db/schema.ts';
import { DockerSpawner } from '../spawner/docker/docker-spawner.ts';
import type {
  ManagedServer,
  Spawner,
  SpawnerState,
  SpawnerStatus,
  SpawnRequest,
  Started,
  StorageAction,
  StorageOutcome,
  SweepCache,
} from '../spawner/spawner.ts';
import {
  cleanup,
  TEST_LABEL,
  type TestNamespace,
  testNamespace,
} from '../spawner/testing/docker-test-env.ts';
import { MemoryRouteTable } from './memory-route-table.ts';
import { startPostgres } from './postgres.ts';

export const SINGLEUSER_IMAGE = process.env.BERTH_TEST_SINGLEUSER_IMAGE ?? 'berth/singleuser:lab';

/** The DockerSpawner, with server URLs the host can reach (the container's address on the run's network). */
export class HostRoutedSpawner implements Spawner {
  readonly #inner: DockerSpawner;
  readonly #docker: Dockerode;
  readonly #network: string;

  constructor(inner: DockerSpawner, docker: Dockerode, network: string) {
    this.#inner = inner;
    this.#docker = docker;
    this.#network = network;
  }

  async #hostUrl(url: string, state: SpawnerState): Promise<string> {
    const ref = String(state.containerId ?? state.containerName);
    const info = await this.#docker.getContainer(ref).inspect();
    const ip = info.NetworkSettings.Networks[this.#network]?.IPAddress;
    if (!ip) return url;
    const u = new URL(url);
    u.hostname = ip;
    return u.toString().replace(/\/$/, '');
  }

  async start(req: SpawnRequest, signal?: AbortSignal): Promise<Started> {
    const started = await this.#inner.start(req, signal);
    return { ...started, url: await this.#hostUrl(started.url, started.state) };
  }
  stop(state: SpawnerState): Promise<void> {
    return this.#inner.stop(state);
  }
  status(state: SpawnerState): Promise<SpawnerStatus> {
    return this.#inner.status(state);
  }
  logs(state: SpawnerState, tail: number): Promise<string> {
    return this.#inner.logs(state, tail);
  }
  async list(filter?: { user?: string; serverName?: string }): Promise<ManagedServer[]> {
    const found = await this.#inner.list(filter);
    return Promise.all(
      found.map(async (m) => (m.url ? { ...m, url: await this.#hostUrl(m.url, m.state) } : m)),
    );
  }
  reattach(state: SpawnerState, cache?: SweepCache): Promise<void> {
    return this.#inner.reattach(state, cache);
  }
  disposeStorage(user: string, action: StorageAction, serverName?: string): Promise<StorageOutcome[]> {
    return this.#inner.disposeStorage(user, action, serverName);
  }
}

export interface DockerHub {
  readonly hub: Hub;
  /** e.g. http://172.30.0.1:41234 */
  readonly base: string;
  readonly docker: Dockerode;
  readonly ns: TestNamespace;
  readonly network: string;
  /** The pinned id of the single-user image. */
  readonly imageId: string;
  /** Creates a user and an API token for them. */
  addUser(name: string, admin?: boolean): Promise<{ user: UserRow; token: string }>;
  close(): Promise<void>;
}

async function freePort(host: string): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, host, resolve);
  });
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** Starts everything; `close()` removes every container, volume and network of the run. */
export async function startDockerHub(
  opts: {
    env?: Record<string, string>;
    /** How long a start request waits for ready before answering 202 (default 100 ms). */
    slowSpawnMs?: number;
  } = {},
): Promise<DockerHub> {
  const docker = new Dockerode();
  const ns = testNamespace();
  const imageId = (await docker.getImage(SINGLEUSER_IMAGE).inspect()).Id;
  // A plain bridge: servers must reach the hub on the host through the gateway.
  await docker.createNetwork({ Name: ns.network, Labels: { [TEST_LABEL]: ns.run } });
  let pg: StartedPostgreSqlContainer | undefined;
  try {
    const net = await docker.getNetwork(ns.network).inspect();
    const gateway = net.IPAM?.Config?.[0]?.Gateway;
    if (!gateway) throw new Error(`network ${ns.network} has no gateway`);
    pg = await startPostgres();
    const port = await freePort(gateway);
    const base = `http://${gateway}:${port}`;
    const config = loadConfig({
      BERTH_DATABASE_URL: pg.getConnectionUri(),
      BERTH_PUBLIC_URL: base,
      BERTH_HUB_API_URL: `${base}/hub/api`,
      BERTH_HUB_HOST: gateway,
      BERTH_HUB_PORT: String(port),
      BERTH_INTERNAL_TLS: '0',
      CONFIGPROXY_AUTH_TOKEN: 'unused-by-the-memory-route-table',
      BERTH_SINGLEUSER_IMAGE: imageId,
      BERTH_USERS_NETWORK: ns.network,
      BERTH_NETWORK_ISOLATION: 'shared',
      BERTH_DEPLOYMENT_ID: ns.deploymentId,
      BERTH_CONTAINER_PREFIX: ns.prefix,
      BERTH_MEM_LIMIT_MB: '512',
      BERTH_LOG_LEVEL: process.env.BERTH_TEST_LOG_LEVEL ?? 'silent',
      ...opts.env,
    });
    const inner = new DockerSpawner({
      docker,
      network: ns.network,
      deploymentId: ns.deploymentId,
      prefix: ns.prefix,
      helperImage: imageId,
      defaultLimits: {
        memoryBytes: config.spawner.memoryBytes,
        nanoCpus: config.spawner.nanoCpus,
        pids: config.spawner.pids,
      },
    });
    const hub = await createHub(config, {
      spawner: new HostRoutedSpawner(inner, docker, ns.network),
      routes: new MemoryRouteTable(),
      cookieSecret: 'c'.repeat(64),
      log: pino({ level: config.logLevel }),
      slowSpawnMs: opts.slowSpawnMs ?? 100,
    });
    await hub.app.listen({ host: gateway, port });
    const started = pg;
    return {
      hub,
      base,
      docker,
      ns,
      network: ns.network,
      imageId,
      async addUser(name, admin = false) {
        const user = await hub.ctx.users.create(name, { admin, passwordHash: null });
        const row = user ?? (await hub.ctx.users.byName(name));
        if (!row) throw new Error(`cannot create ${name}`);
        return { user: row, token: (await issueApiToken(hub.ctx, row, {})).token };
      },
      async close() {
        await hub.close();
        await cleanup(docker, ns);
        await started.stop();
      },
    };
  } catch (err) {
    await cleanup(docker, ns);
    await pg?.stop();
    throw err;
  }
}

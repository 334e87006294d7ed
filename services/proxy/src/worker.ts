/**
 * A worker process (BERTH_PROXY_WORKERS > 1): serves the public listener from its copy of the route table. The
 * primary sends the table at start and every change after it, and asks for the activity stamped here when the API
 * is read. Metrics of the public listener are counted here and aggregated by the primary at scrape time.
 */
import type { AddressInfo } from 'node:net';
import { AgentPool } from './agents.ts';
import type { ActivityStamp, FromWorker, RouteCopy, ToWorker, WorkerSettings } from './cluster-protocol.ts';
import { createLogger, type Logger } from './log.ts';
import { ProxyMetrics } from './metrics.ts';
import { createPublicServer, type PublicServer } from './proxy-server.ts';
import { type Route, RouteTable } from './route-table.ts';
import { closeServer, listen } from './start.ts';

/** A copy of the table that remembers which routes saw activity since the primary last asked. */
class ReplicaTable extends RouteTable {
  readonly #touched = new Set<string>();

  override touch(route: Route): void {
    super.touch(route);
    this.#touched.add(route.path);
  }

  /** The stamps of the routes touched since the last call. */
  drain(): ActivityStamp[] {
    const stamps: ActivityStamp[] = [];
    for (const path of this.#touched) {
      const route = this.get(path);
      if (route !== undefined) stamps.push([route.path, route.target, route.lastActivity.getTime()]);
    }
    this.#touched.clear();
    return stamps;
  }

  load(copy: RouteCopy): void {
    const [path, target, data, stampMs] = copy;
    this.add(path, target, data);
    this.stampAt(path, target, stampMs);
  }
}

export function runWorker(): void {
  const send = (message: FromWorker) => process.send?.(message);
  let routes: ReplicaTable | undefined;
  let metrics: ProxyMetrics | undefined;
  let server: PublicServer | undefined;
  let agents: AgentPool | undefined;
  let log: Logger | undefined;

  const start = async (settings: WorkerSettings, copies: readonly RouteCopy[]) => {
    log = createLogger(settings.logLevel).child({ worker: process.pid });
    const table = new ReplicaTable();
    for (const copy of copies) table.load(copy);
    routes = table;
    const pool = new AgentPool(settings.tls, settings.connectTimeoutMs);
    agents = pool;
    table.onRemoved((route) => {
      const origin = route.url?.origin;
      if (origin !== undefined && !table.usesOrigin(origin)) pool.release(origin);
    });
    const workerMetrics = new ProxyMetrics();
    metrics = workerMetrics;
    workerMetrics.bind({ routes: () => table.size, openSockets: () => openSockets() });
    server = createPublicServer({ ...settings, routes: table, agents: pool, log, metrics: workerMetrics });
    try {
      await listen(server.server, settings.port, settings.host);
      send({ t: 'listening', port: (server.server.address() as AddressInfo).port });
    } catch (err) {
      send({ t: 'listen-failed', message: err instanceof Error ? err.message : String(err) });
      process.exit(1);
    }
  };

  const openSockets = () =>
    new Promise<number>((resolve) => {
      if (server === undefined) resolve(0);
      else server.server.getConnections((_err, count) => resolve(count ?? 0));
    });

  let stopping = false;
  const stop = async (graceMs: number) => {
    if (stopping) return;
    stopping = true;
    server?.destroyWebSockets();
    if (server !== undefined) await closeServer(server.server, graceMs);
    agents?.destroy();
    process.exit(0);
  };

  process.on('message', (message: ToWorker) => {
    switch (message.t) {
      case 'init':
        void start(message.settings, message.routes);
        return;
      case 'add':
        routes?.load(message.route);
        send({ t: 'ack', id: message.id });
        return;
      case 'remove':
        routes?.remove(message.path);
        send({ t: 'ack', id: message.id });
        return;
      case 'collect':
        send({ t: 'activity', id: message.id, stamps: routes?.drain() ?? [] });
        return;
      case 'metrics':
        void (metrics?.registry.getMetricsAsJSON() ?? Promise.resolve([])).then(
          (json) => send({ t: 'metrics', id: message.id, metrics: json }),
          () => send({ t: 'metrics', id: message.id, metrics: [] }),
        );
        return;
      case 'shutdown':
        void stop(message.graceMs);
        return;
    }
  });
  // The primary stops the workers; a signal to the whole process group (Ctrl-C) must not cut requests short.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  // Orphaned (the primary died): stop serving a table that no one keeps up to date.
  process.on('disconnect', () => {
    void stop(0);
  });
}

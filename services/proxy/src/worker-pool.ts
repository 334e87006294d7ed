/**
 * Worker mode (BERTH_PROXY_WORKERS > 1), the primary's side. The primary keeps the one route table, the REST API and
 * the metrics listener; it forks workers (node:cluster) that share the public port and serve copies of the table.
 *
 * - A change made through the API is sent to every worker, and the API answers only once each has applied it, so
 *   a route is served by every worker when its 201 is sent (as with a single process).
 * - Activity is stamped in each worker; before the API reads the table, the primary collects the stamps and keeps
 *   the latest per route, so `last_activity` and `inactive_since` see every worker's traffic.
 * - A worker that dies is replaced and gets the whole table; the epoch is the primary's, so it does not change (the
 *   table was not lost). If the primary dies the workers exit, and the next start draws a new epoch.
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { agentTls } from './agents.ts';
import type { Replicas } from './api.ts';
import type { FromWorker, RouteCopy, ToWorker, WorkerSettings } from './cluster-protocol.ts';
import type { ProxyConfig } from './config.ts';
import type { Logger } from './log.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { PublicSide } from './public-side.ts';
import type { Route, RouteTable } from './route-table.ts';

/** A worker that does not answer within this long is not waited for (it is being replaced, or stuck). */
const REPLY_TIMEOUT_MS = 5_000;
// Run from source (`.ts`, type stripping) or from dist/ (`.js`): the worker entry sits next to this file.
const WORKER_ENTRY = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? './worker-main.ts' : './worker-main.js', import.meta.url),
);

interface Pending {
  readonly waiting: Set<Worker>;
  readonly onReply: (message: FromWorker) => void;
  readonly done: () => void;
}

function copyOf(route: Route): RouteCopy {
  return [route.path, route.target, route.data, route.lastActivity.getTime()];
}

export class WorkerPool implements PublicSide {
  readonly #config: ProxyConfig;
  readonly #routes: RouteTable;
  readonly #log: Logger;
  readonly #settings: WorkerSettings;
  readonly #workers = new Set<Worker>();
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #port: number;
  #closing = false;
  readonly replicas: Replicas;

  constructor(config: ProxyConfig, routes: RouteTable, log: Logger, metrics: ProxyMetrics) {
    this.#config = config;
    this.#routes = routes;
    this.#log = log;
    this.#port = config.port;
    this.#settings = {
      port: config.port,
      host: config.host,
      hostRouting: config.hostRouting,
      errorTarget: config.errorTarget,
      connectTimeoutMs: config.connectTimeoutMs,
      headersTimeoutMs: config.headersTimeoutMs,
      keepAliveTimeoutMs: config.keepAliveTimeoutMs,
      wsActivityIntervalMs: config.wsActivityIntervalMs,
      logLevel: config.logLevel,
      tls: agentTls(config),
    };
    this.replicas = {
      added: (route) => this.#broadcast((id) => ({ t: 'add', id, route: copyOf(route) })),
      removed: (path) => this.#broadcast((id) => ({ t: 'remove', id, path })),
      refresh: () =>
        this.#broadcast(
          (id) => ({ t: 'collect', id }),
          (message) => {
            if (message.t !== 'activity') return;
            for (const [path, target, ms] of message.stamps) this.#routes.stamp(path, target, ms);
          },
        ),
    };
    metrics.aggregateWith(async () => {
      const all: unknown[] = [];
      await this.#broadcast(
        (id) => ({ t: 'metrics', id }),
        (message) => {
          if (message.t === 'metrics') all.push(message.metrics);
        },
      );
      return all;
    });
  }

  async listen(): Promise<number> {
    cluster.setupPrimary({
      exec: WORKER_ENTRY,
      // The workers run the same Node with the same flags, minus the test runner's.
      execArgv: process.execArgv.filter((arg) => !arg.startsWith('--test')),
      silent: false,
    });
    const started = Array.from({ length: this.#config.workers }, () => this.#fork());
    const ports = await Promise.all(started);
    this.#port = ports[0] ?? this.#config.port;
    return this.#port;
  }

  /** The workers count their own sockets; their gauges are added up at scrape time. */
  async openSockets(): Promise<number> {
    return 0;
  }

  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    const exits = [...this.#workers].map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          worker.once('exit', () => resolve());
          const kill = setTimeout(() => worker.process.kill('SIGKILL'), graceMs + 2_000);
          kill.unref();
          worker.once('exit', () => clearTimeout(kill));
          this.#send(worker, { t: 'shutdown', graceMs });
        }),
    );
    await Promise.all(exits);
  }

  /** Fork a worker, hand it the table, and resolve with its public port once it listens. */
  #fork(): Promise<number> {
    const worker = cluster.fork();
    this.#workers.add(worker);
    const listening = new Promise<number>((resolve, reject) => {
      worker.on('message', (message: FromWorker) => {
        if (message.t === 'listening') resolve(message.port);
        else if (message.t === 'listen-failed')
          reject(new Error(`worker could not listen: ${message.message}`));
        else this.#reply(worker, message);
      });
      worker.once('exit', (code, signal) => {
        reject(new Error(`worker exited (${signal ?? code}) before listening`));
        this.#workers.delete(worker);
        for (const pending of this.#pending.values()) this.#settle(pending, worker);
        if (this.#closing) return;
        this.#log.error({ pid: worker.process.pid, code, signal }, 'proxy worker died; starting another');
        this.#fork().catch((err: unknown) => this.#log.error({ err }, 'proxy worker could not be replaced'));
      });
    });
    // The whole table now; every later change follows on the same ordered channel.
    this.#send(worker, { t: 'init', settings: this.#settings, routes: this.#routes.list().map(copyOf) });
    return listening;
  }

  #send(worker: Worker, message: ToWorker): void {
    if (worker.isConnected()) worker.send(message);
  }

  /** Send a message to every worker and resolve once each has replied, died, or timed out. */
  #broadcast(
    make: (id: number) => ToWorker,
    onReply: (message: FromWorker) => void = () => {},
  ): Promise<void> {
    const id = this.#nextId++;
    const waiting = new Set([...this.#workers].filter((worker) => worker.isConnected()));
    if (waiting.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#log.warn({ id, missing: waiting.size }, 'proxy workers did not answer in time');
        done();
      }, REPLY_TIMEOUT_MS);
      const done = () => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve();
      };
      this.#pending.set(id, { waiting, onReply, done });
      const message = make(id);
      for (const worker of waiting) this.#send(worker, message);
    });
  }

  #reply(worker: Worker, message: FromWorker): void {
    if (!('id' in message)) return;
    const pending = this.#pending.get(message.id);
    if (pending === undefined || !pending.waiting.has(worker)) return;
    pending.onReply(message);
    this.#settle(pending, worker);
  }

  #settle(pending: Pending, worker: Worker): void {
    pending.waiting.delete(worker);
    if (pending.waiting.size === 0) pending.done();
  }
}

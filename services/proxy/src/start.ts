/** The composition root: builds the route table, both listeners and their wiring. No request logic lives here. */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { AgentPool, agentTls } from './agents.ts';
import { createApiHandler } from './api.ts';
import { createTokenCheck } from './auth.ts';
import type { ProxyConfig } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { ProxyMetrics } from './metrics.ts';
import { createPublicServer } from './proxy-server.ts';
import type { PublicSide } from './public-side.ts';
import { handleClientError } from './responses.ts';
import { RouteTable } from './route-table.ts';
import { WorkerPool } from './worker-pool.ts';

export interface StartOptions {
  /** Defaults to a pino logger at `config.logLevel`. */
  readonly logger?: Logger;
}

export interface RunningProxy {
  /** The public listener's port (useful when configured as 0). */
  readonly port: number;
  /** The REST API listener's port. */
  readonly apiPort: number;
  /** The metrics listener's port (`GET /metrics`). */
  readonly metricsPort: number;
  /** This run's id, sent as `X-Berth-Proxy-Epoch` on every authenticated API answer. */
  readonly epoch: string;
  /**
   * Stop accepting connections, let in-flight requests finish for up to `config.shutdownGraceMs`, then cut what
   * is left, WebSockets at once. Idempotent.
   */
  close(): Promise<void>;
}

/** API requests are small; the API listener gets tighter limits than the public one. */
const API_REQUEST_TIMEOUT_MS = 30_000;

export async function startProxy(config: ProxyConfig, options: StartOptions = {}): Promise<RunningProxy> {
  const log = options.logger ?? createLogger(config.logLevel);
  const epoch = { id: randomUUID(), started: new Date() };
  const routes = new RouteTable();
  if (config.defaultTarget !== undefined) routes.add('/', config.defaultTarget, {});

  const metrics = new ProxyMetrics();
  // The public listener: in this process, or in worker processes that serve copies of the table (src/cluster.ts).
  const publicSide: PublicSide =
    config.workers > 1
      ? new WorkerPool(config, routes, log, metrics)
      : localPublicSide(config, routes, log, metrics);
  const apiHandler = createApiHandler({
    routes,
    checkToken: createTokenCheck(config.authToken),
    log,
    epoch,
    metrics,
    ...(publicSide.replicas ? { replicas: publicSide.replicas } : {}),
  });
  const tls = config.apiTls;
  // With a client CA, the TLS handshake itself refuses a client without a certificate it signed.
  const api: Listener = tls
    ? https.createServer(
        {
          cert: tls.cert,
          key: tls.key.reveal(),
          ...(tls.clientCa === undefined
            ? {}
            : { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }),
        },
        apiHandler,
      )
    : http.createServer(apiHandler);
  metrics.bind({ routes: () => routes.size, openSockets: () => publicSide.openSockets() });
  const metricsServer = http.createServer(metrics.handler());
  metricsServer.on('clientError', handleClientError);
  metricsServer.requestTimeout = API_REQUEST_TIMEOUT_MS;
  metricsServer.headersTimeout = Math.min(config.headersTimeoutMs, API_REQUEST_TIMEOUT_MS);
  api.on('clientError', handleClientError);
  api.requestTimeout = API_REQUEST_TIMEOUT_MS;
  api.headersTimeout = Math.min(config.headersTimeoutMs, API_REQUEST_TIMEOUT_MS);

  const servers: Listener[] = [api, metricsServer];
  let port: number;
  try {
    port = await publicSide.listen();
    await listen(api, config.apiPort, config.apiHost);
    await listen(metricsServer, config.metricsPort, config.metricsHost);
  } catch (err) {
    await Promise.all([publicSide.close(0), ...servers.map((server) => closeServer(server, 0))]);
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    port,
    apiPort: (api.address() as AddressInfo).port,
    metricsPort: (metricsServer.address() as AddressInfo).port,
    epoch: epoch.id,
    close() {
      closing ??= Promise.all([
        publicSide.close(config.shutdownGraceMs),
        ...servers.map((server) => closeServer(server, config.shutdownGraceMs)),
      ]).then(() => undefined);
      return closing;
    },
  };
}

/** The public listener in this process (BERTH_PROXY_WORKERS=1). */
function localPublicSide(
  config: ProxyConfig,
  routes: RouteTable,
  log: Logger,
  metrics: ProxyMetrics,
): PublicSide {
  const agents = new AgentPool(agentTls(config), config.connectTimeoutMs);
  routes.onRemoved((route) => {
    const origin = new URL(route.target).origin;
    if (!routes.usesOrigin(origin)) agents.release(origin);
  });
  const publicServer = createPublicServer({ ...config, routes, agents, log, metrics });
  return {
    async listen() {
      await listen(publicServer.server, config.port, config.host);
      return (publicServer.server.address() as AddressInfo).port;
    },
    openSockets: () =>
      new Promise((resolve) => publicServer.server.getConnections((_err, count) => resolve(count ?? 0))),
    async close(graceMs) {
      publicServer.destroyWebSockets();
      await closeServer(publicServer.server, graceMs);
      agents.destroy();
    },
  };
}

export type Listener = http.Server | https.Server;

export function listen(server: Listener, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Close gracefully: idle keep-alive connections now, busy ones after `graceMs`. */
export function closeServer(server: Listener, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

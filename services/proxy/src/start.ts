/** The composition root: builds the route table, both listeners and their wiring. No request logic lives here. */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { AgentPool } from './agents.ts';
import { createApiHandler } from './api.ts';
import { createTokenCheck } from './auth.ts';
import type { ProxyConfig } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { ProxyMetrics } from './metrics.ts';
import { createPublicServer } from './proxy-server.ts';
import { handleClientError } from './responses.ts';
import { RouteTable } from './route-table.ts';

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
  const agents = new AgentPool({
    ca: config.targetTls?.ca,
    cert: config.targetTls?.cert,
    key: config.targetTls?.key?.reveal(),
  });
  routes.onRemoved((route) => {
    const origin = new URL(route.target).origin;
    if (!routes.usesOrigin(origin)) agents.release(origin);
  });
  if (config.defaultTarget !== undefined) routes.add('/', config.defaultTarget, {});

  const metrics = new ProxyMetrics();
  const publicServer = createPublicServer({ ...config, routes, agents, log, metrics });
  const apiHandler = createApiHandler({
    routes,
    checkToken: createTokenCheck(config.authToken),
    log,
    epoch,
    metrics,
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
  metrics.bind({
    routes: () => routes.size,
    openSockets: () =>
      new Promise((resolve) => publicServer.server.getConnections((_err, count) => resolve(count ?? 0))),
  });
  const metricsServer = http.createServer(metrics.handler());
  metricsServer.on('clientError', handleClientError);
  metricsServer.requestTimeout = API_REQUEST_TIMEOUT_MS;
  metricsServer.headersTimeout = Math.min(config.headersTimeoutMs, API_REQUEST_TIMEOUT_MS);
  api.on('clientError', handleClientError);
  api.requestTimeout = API_REQUEST_TIMEOUT_MS;
  api.headersTimeout = Math.min(config.headersTimeoutMs, API_REQUEST_TIMEOUT_MS);

  const servers: Listener[] = [publicServer.server, api, metricsServer];
  try {
    await listen(publicServer.server, config.port, config.host);
    await listen(api, config.apiPort, config.apiHost);
    await listen(metricsServer, config.metricsPort, config.metricsHost);
  } catch (err) {
    await Promise.all(servers.map((server) => closeServer(server, 0)));
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    port: (publicServer.server.address() as AddressInfo).port,
    apiPort: (api.address() as AddressInfo).port,
    metricsPort: (metricsServer.address() as AddressInfo).port,
    epoch: epoch.id,
    close() {
      closing ??= (async () => {
        publicServer.destroyWebSockets();
        await Promise.all(servers.map((server) => closeServer(server, config.shutdownGraceMs)));
        agents.destroy();
      })();
      return closing;
    },
  };
}

type Listener = http.Server | https.Server;

function listen(server: Listener, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Close gracefully: idle keep-alive connections now, busy ones after `graceMs`. */
function closeServer(server: Listener, graceMs: number): Promise<void> {
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

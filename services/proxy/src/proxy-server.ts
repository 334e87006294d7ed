/**
 * The public listener: health check, routing, and proxying of HTTP requests (forward-http.ts, undici) and
 * WebSocket upgrades (http-proxy-3).
 *
 * The matched target receives the full, resolved request path (no prefix stripping, as CHP by default), with
 * X-Forwarded-* headers. last_activity is stamped only on 2xx proxied responses (CHP does not count redirects or
 * errors, so a flood of failing or unauthenticated requests does not keep a server "active"), and on WebSocket
 * traffic, throttled.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import type { AgentPool } from './agents.ts';
import { createErrorResponder } from './error-target.ts';
import { type ForwardFailure, forwardHttp, type Upstream } from './forward-http.ts';
import { type Logger, logPath } from './log.ts';
import type { ProxyMetrics } from './metrics.ts';
import { resolveRoute } from './resolve.ts';
import { handleClientError, sendJson, sendRawError } from './responses.ts';
import type { Route, RouteTable } from './route-table.ts';
import { WebSocketActivity } from './ws-activity.ts';

const UNAVAILABLE = 'The server for this URL is not reachable right now. Try again in a moment.';

export interface PublicServerDeps {
  readonly routes: RouteTable;
  readonly agents: AgentPool;
  readonly log: Logger;
  readonly metrics: ProxyMetrics;
  readonly hostRouting: boolean;
  readonly errorTarget: string | undefined;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly wsActivityIntervalMs: number;
}

export interface PublicServer {
  readonly server: http.Server;
  /** Cut every open WebSocket (server.close() does not wait for upgraded connections). */
  destroyWebSockets(): void;
}

export function createPublicServer(deps: PublicServerDeps): PublicServer {
  const { routes, agents, log, metrics } = deps;
  const proxy = createProxyServer({
    ws: true,
    xfwd: true,
    // Tornado (Jupyter) only honours X-Forwarded-Proto values of http/https.
    xfwdWsProtoAsHttp: true,
    secure: true,
    changeOrigin: false,
    connectTimeout: deps.connectTimeoutMs,
  });
  const sendError = createErrorResponder({
    errorTarget: deps.errorTarget,
    agents,
    timeoutMs: deps.connectTimeoutMs,
    log,
  });
  const activity = new WebSocketActivity(proxy, routes, deps.wsActivityIntervalMs);
  const upgraded = new WeakSet<Duplex>();
  activity.onUpgrade((socket) => {
    upgraded.add(socket);
    metrics.webSocketOpened();
    socket.once('close', () => metrics.webSocketClosed());
  });

  const onProxyError = (err: Error, req: http.IncomingMessage, res: http.ServerResponse | Socket): void => {
    const code = (err as NodeJS.ErrnoException).code;
    log.warn({ code, method: req.method, path: logPath(req.url) }, 'upstream unavailable');
    metrics.error('upstream');
    if (res instanceof http.ServerResponse) sendError(req, res, 503, UNAVAILABLE);
    else if (upgraded.has(res)) res.destroy();
    else sendRawError(res, 503, UNAVAILABLE);
  };
  // Errors http-proxy-3 emits instead of passing to the per-call callback (e.g. a client socket's error).
  proxy.on('error', onProxyError);

  // Node checks the headers timeout on this interval (30 s by default), so a short timeout needs a short interval.
  const connectionsCheckingInterval = Math.min(30_000, Math.max(25, Math.floor(deps.headersTimeoutMs / 4)));
  const server = http.createServer({ connectionsCheckingInterval }, (req, res) => {
    const started = performance.now();
    const resolved = resolveRoute(req, routes, deps.hostRouting);
    if (resolved.kind === 'health') {
      sendJson(res, 200, { status: 'OK' });
      return;
    }
    if (resolved.kind === 'error') {
      metrics.error(resolved.status === 404 ? 'no_route' : 'bad_request');
      sendError(req, res, resolved.status, resolved.message);
      metrics.request(resolved.status, (performance.now() - started) / 1000);
      return;
    }
    const { route } = resolved;
    dropHopByHopHeaders(req);
    res.on('finish', () => {
      metrics.request(res.statusCode, (performance.now() - started) / 1000);
      if (res.statusCode >= 200 && res.statusCode < 300) routes.touch(route);
    });
    res.on('close', () => {
      if (!res.writableFinished) metrics.error('client_aborted');
    });
    forwardHttp(req, res, options(route).upstream, (failure) => onForwardFailure(failure, req, res));
  });

  const onForwardFailure = (failure: ForwardFailure, req: http.IncomingMessage, res: http.ServerResponse) => {
    if (failure.kind === 'bad_request') {
      metrics.error('bad_request');
      sendError(req, res, 400, failure.message);
    } else onProxyError(failure.error, req, res);
  };

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', (err) => log.debug({ err: err.message }, 'client socket error'));
    const resolved = resolveRoute(req, routes, deps.hostRouting);
    if (resolved.kind !== 'route') {
      const status = resolved.kind === 'error' ? resolved.status : 404;
      metrics.error(status === 404 ? 'no_route' : 'bad_request');
      sendRawError(socket, status, resolved.kind === 'error' ? resolved.message : 'Not Found');
      return;
    }
    if (req.method !== 'GET' || req.headers.upgrade?.toLowerCase() !== 'websocket') {
      metrics.error('bad_request');
      sendRawError(socket, 400, 'only WebSocket upgrades are proxied');
      return;
    }
    activity.track(req, socket, resolved.route);
    proxy.ws(req, socket, head, options(resolved.route), onProxyError);
  });

  server.on('clientError', handleClientError);
  server.keepAliveTimeout = deps.keepAliveTimeoutMs;
  server.headersTimeout = deps.headersTimeoutMs;

  // One options object per route, built on its first request: no URL parse or pool lookup per request. A route
  // keeps its origin's pool and agent alive (they are dropped only when no route uses the origin).
  const routeOptions = new WeakMap<Route, { target: URL; agent: http.Agent; upstream: Upstream }>();
  function options(route: Route) {
    let opts = routeOptions.get(route);
    if (opts === undefined) {
      const target = route.url ?? new URL(route.target);
      const upstream = {
        dispatcher: agents.dispatcherFor(target),
        basePath: target.pathname + target.search,
      };
      opts = { target, agent: agents.forTarget(target), upstream };
      routeOptions.set(route, opts);
    }
    return opts;
  }

  return { server, destroyWebSockets: () => activity.destroyAll() };
}

/** Never dropped, even when a client lists them in `Connection`: the host and the body's framing. */
const KEPT_HEADERS = new Set(['', 'host', 'content-length', 'transfer-encoding']);

/**
 * Connection-level headers are between the client and the proxy: forwarding a client's `Connection: close` would
 * stop the upstream keep-alive connection from being reused. (Upgrades keep theirs; http-proxy-3 needs them.)
 */
function dropHopByHopHeaders(req: http.IncomingMessage): void {
  const headers = req.headers;
  const connection = headers.connection;
  if (connection !== undefined) {
    for (const listed of connection.split(',')) {
      const name = listed.trim().toLowerCase();
      if (!KEPT_HEADERS.has(name)) delete headers[name];
    }
    delete headers.connection;
  }
  // `in` first: deleting a property that is not there still costs a dictionary-mode transition.
  if ('keep-alive' in headers) delete headers['keep-alive'];
  if ('proxy-connection' in headers) delete headers['proxy-connection'];
}

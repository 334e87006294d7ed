/**
 * configurable-http-proxy's REST API, on its own listener:
 *   GET    /api/routes[?inactive_since=ISO8601]   → 200 { "/path": {target, last_activity, ...data} }
 *   GET    /api/routes/<path>                     → 200 route | 404
 *   POST   /api/routes/<path>  {target, ...data}  → 201
 *   DELETE /api/routes/<path>                     → 204 (also when the route does not exist)
 *   GET    /api/health                            → 200 {status, epoch, started, routes}  (Berth only)
 * Every authenticated answer carries `X-Berth-Proxy-Epoch`: an id drawn at start, so a client (the hub) can tell
 * that the proxy restarted, and lost its in-memory routes, without listing them.
 * Every request must carry the token; anything else is 403, before the path or body is looked at.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './api-errors.ts';
import type { TokenCheck } from './auth.ts';
import { readJsonBody } from './body.ts';
import { type Logger, logPath } from './log.ts';
import type { ProxyMetrics } from './metrics.ts';
import { decodePath, parseRequestTarget } from './paths.ts';
import { sendJson } from './responses.ts';
import { type Route, type RouteTable, routeToJson } from './route-table.ts';
import { parseTarget } from './target.ts';

const ROUTES = /^\/api\/routes(\/.*)?$/;
const ALLOWED = 'GET, POST, DELETE';
export const EPOCH_HEADER = 'x-berth-proxy-epoch';

/** This run of the proxy: a new id at every start. */
export interface ProxyEpoch {
  readonly id: string;
  readonly started: Date;
}

export interface ApiDeps {
  readonly routes: RouteTable;
  readonly checkToken: TokenCheck;
  readonly log: Logger;
  readonly epoch: ProxyEpoch;
  readonly metrics?: ProxyMetrics;
  /** Copies of the table in other processes (worker mode), kept in step before the API answers. */
  readonly replicas?: Replicas;
}

/** What the API waits for when other processes serve the public listener from copies of the table. */
export interface Replicas {
  /** Resolves once every copy has applied this addition (so the route is served when the 201 is sent). */
  added(route: Route): Promise<void>;
  /** Resolves once every copy has dropped the route at `path`. */
  removed(path: string): Promise<void>;
  /** Resolves once every copy's activity stamps are merged into the table, before it is read. */
  refresh(): Promise<void>;
}

export type ApiHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createApiHandler(deps: ApiDeps): ApiHandler {
  return (req, res) => {
    handle(deps, req, res).catch((err: unknown) => {
      const error = err instanceof ApiError ? err : new ApiError('INTERNAL', 'internal error');
      if (!(err instanceof ApiError)) deps.log.error({ err, path: logPath(req.url) }, 'API handler failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const headers: Record<string, string> = error.code === 'BODY_TOO_LARGE' ? { connection: 'close' } : {};
      if (error.code === 'METHOD_NOT_ALLOWED') headers.allow = ALLOWED;
      sendJson(res, error.status, error, headers);
    });
    res.on('finish', () => {
      deps.metrics?.apiRequest(req.method ?? '', res.statusCode);
      deps.log.debug({ method: req.method, path: logPath(req.url), status: res.statusCode }, 'api request');
    });
  };
}

async function handle(deps: ApiDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!deps.checkToken(req.headers.authorization)) {
    deps.log.warn(
      { method: req.method, path: logPath(req.url) },
      'API request refused: missing or wrong token',
    );
    throw new ApiError('FORBIDDEN', 'a valid token is required in the Authorization header');
  }
  res.setHeader(EPOCH_HEADER, deps.epoch.id);
  const target = parseRequestTarget(req.url);
  if (target?.pathname === '/api/health') return health(deps, req, res);
  const match = target === undefined ? null : ROUTES.exec(target.pathname);
  if (target === undefined || match === null) throw new ApiError('NOT_FOUND', 'no such API endpoint');
  const path = decodePath(match[1] ?? '/');
  if (path === undefined) throw new ApiError('INVALID_PATH', 'route path is not valid percent-encoding');

  switch (req.method) {
    case 'GET':
      return getRoutes(deps, res, path, new URLSearchParams(target.search));
    case 'POST':
      return postRoute(deps, req, res, path);
    case 'DELETE':
      return deleteRoute(deps, res, path);
    default:
      throw new ApiError('METHOD_NOT_ALLOWED', `method ${req.method ?? ''} is not allowed here`.trim());
  }
}

function health(deps: ApiDeps, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET') throw new ApiError('METHOD_NOT_ALLOWED', 'only GET is allowed here');
  sendJson(res, 200, {
    status: 'OK',
    epoch: deps.epoch.id,
    started: deps.epoch.started.toISOString(),
    routes: deps.routes.size,
  });
}

async function getRoutes(
  deps: ApiDeps,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
): Promise<void> {
  await deps.replicas?.refresh();
  if (path !== '/' && path !== '') {
    const route = deps.routes.get(path);
    if (route === undefined) throw new ApiError('NOT_FOUND', 'no such route');
    sendJson(res, 200, routeToJson(route));
    return;
  }
  // CHP reads `inactiveSince` and, for compatibility, `inactive_since`.
  const since = query.get('inactiveSince') || query.get('inactive_since');
  let inactiveSince: Date | undefined;
  if (since) {
    const timestamp = Date.parse(since);
    if (!Number.isFinite(timestamp))
      throw new ApiError('INVALID_DATE', 'inactive_since must be an ISO 8601 date');
    inactiveSince = new Date(timestamp);
  }
  const body: Record<string, unknown> = {};
  for (const route of deps.routes.list(inactiveSince)) {
    Object.defineProperty(body, route.path, { value: routeToJson(route), enumerable: true });
  }
  sendJson(res, 200, body);
}

async function postRoute(
  deps: ApiDeps,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const body = await readJsonBody(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError('INVALID_BODY', 'request body must be a JSON object');
  }
  const data = body as Record<string, unknown>;
  if (typeof data.target !== 'string')
    throw new ApiError('INVALID_TARGET', "must specify 'target' as a string");
  const check = parseTarget(data.target);
  if (!check.ok) throw new ApiError('INVALID_TARGET', check.reason);
  const route = deps.routes.add(path, data.target, data);
  await deps.replicas?.added(route);
  deps.log.info({ path: route.path, target: route.target }, 'route added');
  res.writeHead(201);
  res.end();
}

async function deleteRoute(deps: ApiDeps, res: ServerResponse, path: string): Promise<void> {
  const removed = deps.routes.remove(path);
  if (removed !== undefined) {
    await deps.replicas?.removed(removed.path);
    deps.log.info({ path: removed.path }, 'route removed');
  }
  res.writeHead(204);
  res.end();
}

/**
 * Which route serves a public request. The request-target is resolved as a browser would (dot segments gone),
 * then percent-decoded and matched on whole segments; `req.url` is rewritten to the resolved path, so the target
 * receives exactly the path that was matched.
 */
import type { IncomingMessage } from 'node:http';
import { decodePath, parseRequestTarget, routingHost } from './paths.ts';
import type { Route, RouteTable } from './route-table.ts';

export const HEALTH_PATH = '/_chp_healthz';

export type Resolution =
  | { readonly kind: 'health' }
  | { readonly kind: 'route'; readonly route: Route }
  | { readonly kind: 'error'; readonly status: 400 | 404; readonly message: string };

export function resolveRoute(req: IncomingMessage, routes: RouteTable, hostRouting: boolean): Resolution {
  const target = parseRequestTarget(req.url);
  if (target === undefined) return { kind: 'error', status: 400, message: 'The request URL is not valid.' };
  if (target.pathname === HEALTH_PATH) return { kind: 'health' };
  const decoded = decodePath(target.pathname);
  if (decoded === undefined) return { kind: 'error', status: 400, message: 'The request URL is not valid.' };
  let matchPath = decoded;
  if (hostRouting) {
    const host = routingHost(req.headers.host);
    if (host === undefined) return { kind: 'error', status: 400, message: 'The Host header is not valid.' };
    matchPath = `/${host}${decoded}`;
  }
  const route = routes.match(matchPath);
  if (route === undefined) return { kind: 'error', status: 404, message: 'Nothing is served at this URL.' };
  req.url = target.pathname + target.search;
  return { kind: 'route', route };
}

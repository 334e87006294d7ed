import type { ProxyRoute } from './client.ts';

export interface DesiredRoute {
  readonly path: string;
  readonly target: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface RouteDiff {
  readonly add: readonly DesiredRoute[];
  readonly remove: readonly string[];
}

/** CHP stores paths without a trailing slash (except "/"). */
export function normalizeRoutePath(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/**
 * What to change so the proxy matches the hub's database. Pure: no I/O. Only routes the hub owns (tagged
 * with `berth: true` data) are ever removed, so routes other tools added survive.
 */
export function diffRoutes(
  desired: readonly DesiredRoute[],
  actual: Readonly<Record<string, ProxyRoute>>,
): RouteDiff {
  const want = new Map(desired.map((d) => [normalizeRoutePath(d.path), d]));
  const add: DesiredRoute[] = [];
  const remove: string[] = [];
  for (const [path, d] of want) {
    const have = actual[path];
    if (!have || have.target !== d.target) add.push(d);
  }
  for (const [path, route] of Object.entries(actual)) {
    if (route.berth === true && !want.has(normalizeRoutePath(path))) remove.push(path);
  }
  return { add, remove };
}

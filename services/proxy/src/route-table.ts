/**
 * The routing table, in memory only. It is derived state: the hub owns the truth and re-adds routes after a
 * proxy restart, so nothing here is persisted, `last_activity` included.
 */
import { trimRoutePath } from './paths.ts';
import { RouteTrie } from './trie.ts';

export type RouteData = Readonly<Record<string, unknown>>;

export interface Route {
  /** The trimmed route key, e.g. `/user/alice` (CHP stores no trailing slash, except for `/`). */
  readonly path: string;
  readonly target: string;
  /** `target` parsed once, when the route is added (undefined only if it is not a URL; the API never adds one). */
  readonly url: URL | undefined;
  /** Everything else the client POSTed (`user`, `server_name`, `jupyterhub`, …), returned as given. */
  readonly data: RouteData;
  /** The latest activity stamp, read when asked: touching a route mutates its entry instead of copying it. */
  readonly lastActivity: Date;
}

/**
 * A route as stored. Activity is a number in the entry, so the hot path (a stamp per proxied 2xx response) neither
 * allocates nor replaces map entries: copies of a route per request were promoted to the old generation and made
 * every full GC walk a bigger heap as the table grew.
 */
class RouteEntry implements Route {
  readonly path: string;
  readonly target: string;
  readonly url: URL | undefined;
  readonly data: RouteData;
  readonly origin: string | undefined;
  stampMs: number;

  constructor(path: string, target: string, data: RouteData, stampMs: number) {
    this.path = path;
    this.target = target;
    this.url = URL.parse(target) ?? undefined;
    this.origin = this.url?.origin;
    this.data = data;
    this.stampMs = stampMs;
  }

  get lastActivity(): Date {
    return new Date(this.stampMs);
  }
}

/** A route in CHP's wire shape: `{ ...data, target, last_activity }`. */
export function routeToJson(route: Route): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(route.data)) {
    // defineProperty, not assignment: a `__proto__` key must stay a plain key.
    Object.defineProperty(json, key, { value, enumerable: true, writable: true, configurable: true });
  }
  json.target = route.target;
  json.last_activity = route.lastActivity.toISOString();
  return json;
}

type RemovedListener = (route: Route) => void;

export class RouteTable {
  readonly #routes = new Map<string, RouteEntry>();
  readonly #trie = new RouteTrie<RouteEntry>();
  /** How many routes point at each origin, so dropping an origin's agent needs no scan of the table. */
  readonly #origins = new Map<string, number>();
  readonly #onRemoved: RemovedListener[] = [];
  readonly #nowMs: () => number;

  constructor(now?: () => Date) {
    this.#nowMs = now === undefined ? Date.now : () => now().getTime();
  }

  /** Add or replace the route at `path`. Like CHP, a new route starts with last_activity = now. */
  add(path: string, target: string, data: RouteData): Route {
    const key = trimRoutePath(path);
    const { target: _target, last_activity: _lastActivity, ...extra } = data;
    const route = new RouteEntry(key, target, Object.freeze(extra), this.#nowMs());
    const previous = this.#routes.get(key);
    this.#routes.set(key, route);
    this.#trie.set(key, route);
    this.#countOrigin(route.origin, 1);
    if (previous !== undefined) this.#dropped(previous);
    return route;
  }

  get size(): number {
    return this.#routes.size;
  }

  get(path: string): Route | undefined {
    return this.#routes.get(trimRoutePath(path));
  }

  remove(path: string): Route | undefined {
    const key = trimRoutePath(path);
    const route = this.#routes.get(key);
    if (route === undefined) return undefined;
    this.#routes.delete(key);
    this.#trie.delete(key);
    this.#dropped(route);
    return route;
  }

  /** All routes; with `inactiveSince`, only those whose last_activity is strictly older (CHP's filter). */
  list(inactiveSince?: Date): Route[] {
    const all = [...this.#routes.values()];
    if (inactiveSince === undefined) return all;
    const since = inactiveSince.getTime();
    return all.filter((r) => r.stampMs < since);
  }

  /** Longest-prefix match of a decoded request path. */
  match(decodedPath: string): Route | undefined {
    return this.#trie.match(decodedPath);
  }

  /** Record activity on `route`, unless it has since been removed or pointed elsewhere. */
  touch(route: Route): void {
    this.stamp(route.path, route.target, this.#nowMs());
  }

  /**
   * Record activity seen at `ms` on the route at `path` if it still points at `target`. A stamp older than the one
   * kept changes nothing, so stamps reported late (e.g. by another worker) never move last_activity back.
   */
  stamp(path: string, target: string, ms: number): void {
    const current = this.#routes.get(path);
    if (current === undefined || current.target !== target) return;
    if (ms > current.stampMs) current.stampMs = ms;
  }

  /** Set the activity of the route at `path` (if it points at `target`) to exactly `ms`: for copies of a table. */
  stampAt(path: string, target: string, ms: number): void {
    const current = this.#routes.get(path);
    if (current !== undefined && current.target === target) current.stampMs = ms;
  }

  /** Whether any route still points at `origin` (e.g. `http://alice:8888`). */
  usesOrigin(origin: string): boolean {
    return (this.#origins.get(origin) ?? 0) > 0;
  }

  /** Called with each route that is removed or replaced. */
  onRemoved(listener: RemovedListener): void {
    this.#onRemoved.push(listener);
  }

  #dropped(route: RouteEntry): void {
    this.#countOrigin(route.origin, -1);
    for (const listener of this.#onRemoved) listener(route);
  }

  #countOrigin(origin: string | undefined, delta: 1 | -1): void {
    if (origin === undefined) return;
    const count = (this.#origins.get(origin) ?? 0) + delta;
    if (count > 0) this.#origins.set(origin, count);
    else this.#origins.delete(origin);
  }
}

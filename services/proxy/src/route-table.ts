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
  /** Everything else the client POSTed (`user`, `server_name`, `jupyterhub`, …), returned as given. */
  readonly data: RouteData;
  readonly lastActivity: Date;
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
  readonly #routes = new Map<string, Route>();
  readonly #trie = new RouteTrie<string>();
  readonly #onRemoved: RemovedListener[] = [];
  readonly #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  /** Add or replace the route at `path`. Like CHP, a new route starts with last_activity = now. */
  add(path: string, target: string, data: RouteData): Route {
    const key = trimRoutePath(path);
    const { target: _target, last_activity: _lastActivity, ...extra } = data;
    const route: Route = { path: key, target, data: Object.freeze(extra), lastActivity: this.#now() };
    const previous = this.#routes.get(key);
    this.#routes.set(key, route);
    this.#trie.set(key, key);
    if (previous !== undefined) this.#emitRemoved(previous);
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
    this.#emitRemoved(route);
    return route;
  }

  /** All routes; with `inactiveSince`, only those whose last_activity is strictly older (CHP's filter). */
  list(inactiveSince?: Date): Route[] {
    const all = [...this.#routes.values()];
    return inactiveSince === undefined ? all : all.filter((r) => r.lastActivity < inactiveSince);
  }

  /** Longest-prefix match of a decoded request path. */
  match(decodedPath: string): Route | undefined {
    const key = this.#trie.match(decodedPath);
    return key === undefined ? undefined : this.#routes.get(key);
  }

  /** Record activity on `route`, unless it has since been removed or pointed elsewhere. */
  touch(route: Route): void {
    const current = this.#routes.get(route.path);
    if (current === undefined || current.target !== route.target) return;
    this.#routes.set(route.path, { ...current, lastActivity: this.#now() });
  }

  /** Whether any route still points at `origin` (e.g. `http://alice:8888`). */
  usesOrigin(origin: string): boolean {
    for (const route of this.#routes.values()) {
      if (URL.canParse(route.target) && new URL(route.target).origin === origin) return true;
    }
    return false;
  }

  /** Called with each route that is removed or replaced. */
  onRemoved(listener: RemovedListener): void {
    this.#onRemoved.push(listener);
  }

  #emitRemoved(route: Route): void {
    for (const listener of this.#onRemoved) listener(route);
  }
}

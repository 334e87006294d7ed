/**
 * The hub's knowledge of when the data behind an identity or a user model may have changed.
 *
 * Every write to a watched table bumps `version`: the hub's own writes as soon as they are done (a statement
 * outside a transaction) or committed (db/watched-dialect.ts), and every other process's (the `berth` CLI, a
 * second hub) when Postgres reports them (db/change-listener.ts, triggers from migration 0013). A cache that
 * saw no bump between starting a read and storing its result holds what the database holds.
 *
 * Until the listener is connected, and whenever it loses its connection, the feed is not `live`: caches then
 * neither answer nor store, so a write from another process can never be missed.
 */
export class ChangeFeed {
  #version = 0;
  #live = false;

  /** Tables whose writes invalidate cached identities and user models. */
  static readonly WATCHED: ReadonlySet<string> = new Set([
    'users',
    'api_tokens',
    'servers',
    'groups',
    'user_group_map',
  ]);

  get version(): number {
    return this.#version;
  }

  get live(): boolean {
    return this.#live;
  }

  bump(): void {
    this.#version++;
  }

  /** The listener connected (true) or lost its connection (false). Either way, everything cached is void. */
  setLive(live: boolean): void {
    this.#live = live;
    this.#version++;
  }
}

/**
 * A bounded map whose entries are valid only for the feed version they were read under. A hit never touches
 * the database; a miss loads, and stores the result only when no write happened while it loaded.
 */
export class VersionedCache<K, V> {
  readonly #feed: ChangeFeed;
  readonly #max: number;
  #version = -1;
  readonly #entries = new Map<K, V>();

  constructor(feed: ChangeFeed, max: number) {
    this.#feed = feed;
    this.#max = max;
  }

  /** The cached value, or undefined when absent, stale, or the feed is not live. */
  get(key: K): V | undefined {
    if (!this.#feed.live) return undefined;
    if (this.#version !== this.#feed.version) {
      this.#entries.clear();
      this.#version = this.#feed.version;
      return undefined;
    }
    return this.#entries.get(key);
  }

  /** Loads on a miss; `store` decides whether a loaded value may be kept (e.g. not a miss). */
  async load(key: K, loader: () => Promise<V>, store: (v: V) => boolean = () => true): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const before = this.#feed.version;
    const value = await loader();
    if (this.#feed.live && this.#feed.version === before && store(value)) {
      if (this.#version !== before) {
        this.#entries.clear();
        this.#version = before;
      }
      if (this.#entries.size >= this.#max) {
        // the oldest entry goes (Map keeps insertion order)
        const oldest = this.#entries.keys().next();
        if (!oldest.done) this.#entries.delete(oldest.value);
      }
      this.#entries.set(key, value);
    }
    return value;
  }

  get size(): number {
    return this.#version === this.#feed.version ? this.#entries.size : 0;
  }
}

import pg from 'pg';
import type { ChangeFeed } from './change-feed.ts';

/** The channel migration 0013's triggers notify on. */
export const CHANGES_CHANNEL = 'berth_changes';

export interface ChangeListenerLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Listens for writes other processes make to the watched tables (Postgres NOTIFY from triggers) and bumps the
 * feed. The feed is live only while this connection is up: a lost connection could hide a revocation, so the
 * caches stop answering until it is back (retried with backoff, at most every 30 s).
 */
export class ChangeListener {
  readonly #url: string;
  readonly #feed: ChangeFeed;
  readonly #log: ChangeListenerLog;
  #client: pg.Client | undefined;
  #closed = false;
  #retryMs = 500;
  #timer: NodeJS.Timeout | undefined;

  constructor(url: string, feed: ChangeFeed, log: ChangeListenerLog) {
    this.#url = url;
    this.#feed = feed;
    this.#log = log;
  }

  /** Connects once; a failure is logged and retried in the background (the hub works uncached meanwhile). */
  async start(): Promise<void> {
    await this.#connect();
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({ connectionString: this.#url, connectionTimeoutMillis: 10_000 });
    this.#client = client;
    const lost = (why: string) => {
      if (this.#client !== client) return;
      this.#client = undefined;
      this.#feed.setLive(false);
      client.removeAllListeners('notification');
      client.end().catch(() => undefined);
      if (this.#closed) return;
      this.#log.warn({ err: why, retryMs: this.#retryMs }, 'change listener lost its connection: caches off');
      this.#timer = setTimeout(() => void this.#connect(), this.#retryMs);
      this.#timer.unref();
      this.#retryMs = Math.min(this.#retryMs * 2, 30_000);
    };
    client.on('error', (err) => lost(err.message));
    client.on('end', () => lost('connection ended'));
    client.on('notification', (n) => {
      this.#feed.bump();
      // The payload is the table written (migration 0013), or whatever a NOTIFY by hand sent.
      this.#log.debug({ table: n.payload }, 'change notified');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (err) {
      lost(err instanceof Error ? err.message : String(err));
      return;
    }
    if (this.#client !== client) return;
    this.#retryMs = 500;
    this.#feed.setLive(true);
    this.#log.info({ channel: CHANGES_CHANNEL }, 'change listener connected: caches on');
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    this.#feed.setLive(false);
    await client?.end().catch(() => undefined);
  }
}

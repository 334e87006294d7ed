import type {
  CompiledQuery,
  DatabaseConnection,
  DatabaseIntrospector,
  Dialect,
  DialectAdapter,
  Driver,
  Kysely,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely';
import { ChangeFeed } from './change-feed.ts';

const WRITE = /^\s*(?:insert|update|delete|merge|truncate|with|do|call|alter|drop|create)\b/i;
const DELETE = /^\s*(?:delete|truncate|with|do|call|drop)\b/i;
const words = (tables: Iterable<string>) => new RegExp(`\\b(?:${[...tables].join('|')})\\b`, 'i');
const WATCHED_WORD = words(ChangeFeed.WATCHED);
/** Deleting these cascades to api_tokens (logout ends a session and its tokens; a removed OAuth client's). */
const CASCADE_WORD = words(['sessions', 'oauth_clients']);

/** Token activity is kept to the minute (auth/identity.ts); such a write changes nothing a cache holds. */
function onlyTokenActivity(query: CompiledQuery): boolean {
  const node = query.query as {
    kind?: string;
    table?: { kind?: string; table?: { identifier?: { name?: string } } };
    updates?: readonly { column?: { column?: { name?: string } } }[];
  };
  return (
    node.kind === 'UpdateQueryNode' &&
    node.table?.kind === 'TableNode' &&
    node.table.table?.identifier?.name === 'api_tokens' &&
    (node.updates ?? []).length > 0 &&
    (node.updates ?? []).every((u) => u.column?.column?.name === 'last_activity')
  );
}

/** Whether a statement may have changed a watched table (conservative: unsure means yes). */
export function touchesWatched(query: CompiledQuery): boolean {
  const sql = query.sql;
  if (DELETE.test(sql) && CASCADE_WORD.test(sql)) return true;
  return WRITE.test(sql) && WATCHED_WORD.test(sql) && !onlyTokenActivity(query);
}

class WatchedConnection implements DatabaseConnection {
  readonly inner: DatabaseConnection;
  readonly #feed: ChangeFeed;
  inTransaction = false;
  dirty = false;

  constructor(inner: DatabaseConnection, feed: ChangeFeed) {
    this.inner = inner;
    this.#feed = feed;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const watched = touchesWatched(query);
    try {
      return await this.inner.executeQuery<R>(query);
    } finally {
      if (watched) {
        // Outside a transaction the write is visible now; inside one, readers may still cache the old rows
        // until it commits, so the commit bumps again.
        this.#feed.bump();
        if (this.inTransaction) this.dirty = true;
      }
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    if (touchesWatched(query)) this.#feed.bump();
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

class WatchedDriver implements Driver {
  readonly #inner: Driver;
  readonly #feed: ChangeFeed;

  constructor(inner: Driver, feed: ChangeFeed) {
    this.#inner = inner;
    this.#feed = feed;
  }

  init(): Promise<void> {
    return this.#inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new WatchedConnection(await this.#inner.acquireConnection(), this.#feed);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const c = connection as WatchedConnection;
    await this.#inner.beginTransaction(c.inner, settings);
    c.inTransaction = true;
    c.dirty = false;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as WatchedConnection;
    try {
      await this.#inner.commitTransaction(c.inner);
    } finally {
      if (c.dirty) this.#feed.bump();
      c.inTransaction = false;
      c.dirty = false;
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as WatchedConnection;
    try {
      await this.#inner.rollbackTransaction(c.inner);
    } finally {
      if (c.dirty) this.#feed.bump();
      c.inTransaction = false;
      c.dirty = false;
    }
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.#inner.releaseConnection((connection as WatchedConnection).inner);
  }

  destroy(): Promise<void> {
    return this.#inner.destroy();
  }
}

/** A dialect whose every write to a watched table bumps the feed once it is visible to other readers. */
export class WatchedDialect implements Dialect {
  readonly #inner: Dialect;
  readonly #feed: ChangeFeed;

  constructor(inner: Dialect, feed: ChangeFeed) {
    this.#inner = inner;
    this.#feed = feed;
  }

  createDriver(): Driver {
    return new WatchedDriver(this.#inner.createDriver(), this.#feed);
  }

  createQueryCompiler(): QueryCompiler {
    return this.#inner.createQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return this.#inner.createAdapter();
  }

  // biome-ignore lint/suspicious/noExplicitAny: the introspector takes any database
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return this.#inner.createIntrospector(db);
  }
}

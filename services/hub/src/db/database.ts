import { Kysely, PostgresDialect } from 'kysely';
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration';
import pg from 'pg';
import type { ChangeFeed } from './change-feed.ts';
import * as m0001 from './migrations/0001-initial.ts';
import * as m0002 from './migrations/0002-auth.ts';
import * as m0003 from './migrations/0003-groups-services.ts';
import * as m0004 from './migrations/0004-profiles.ts';
import * as m0005 from './migrations/0005-accounts.ts';
import * as m0006 from './migrations/0006-audit-usage.ts';
import * as m0008 from './migrations/0008-settings.ts';
import * as m0009 from './migrations/0009-user-blocked.ts';
import * as m0010 from './migrations/0010-stopped-servers.ts';
import * as m0013 from './migrations/0013-change-notify.ts';
import type { Database } from './schema.ts';
import { WatchedDialect } from './watched-dialect.ts';

/** Versioned migrations, in order. Never edit a released one: add the next. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': m0001,
  '0002-auth': m0002,
  '0003-groups-services': m0003,
  '0004-profiles': m0004,
  '0005-accounts': m0005,
  '0006-audit-usage': m0006,
  '0008-settings': m0008,
  '0009-user-blocked': m0009,
  '0010-stopped-servers': m0010,
  '0013-change-notify': m0013,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

export function createDatabase(
  url: string,
  maxConnections = 10,
  onConnectionError: (err: Error) => void = () => undefined,
  /** Told of every write to the tables caches depend on (db/change-feed.ts). */
  changes?: ChangeFeed,
): Kysely<Database> {
  const pool = new pg.Pool({ connectionString: url, max: maxConnections, connectionTimeoutMillis: 10_000 });
  // An idle connection the server ends (a Postgres restart) is dropped from the pool; without a listener its
  // error event would crash the process. Queries in flight still fail to their callers.
  pool.on('error', onConnectionError);
  // The pool listens only on idle connections. One that dies while checked out (a Postgres restart or crash
  // mid-query) emits its error on the client too: without this listener that would crash the process. The query
  // fails to its caller, the pool drops the dead client and opens a new one for the next query.
  pool.on('connect', (client) => client.on('error', onConnectionError));
  const dialect = new PostgresDialect({ pool });
  return new Kysely<Database>({ dialect: changes ? new WatchedDialect(dialect, changes) : dialect });
}

/**
 * Whether `err` says the database cannot be reached right now (refused, reset or ended connections, Postgres
 * shutting down or recovering: SQLSTATE classes 08 and 57P), rather than that a query was wrong. The API
 * answers those 503, a condition to retry, not 500.
 */
export function databaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (/^(08|57P0[1-3])/.test(code)) return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code))
      return true;
  }
  return /^Connection terminated|^timeout exceeded when trying to connect/.test(err.message);
}

export interface MigrationReport {
  readonly applied: readonly string[];
}

/** Bring the schema to the newest version. Throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<Database>): Promise<MigrationReport> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}

/**
 * Waiting for the database at start. Under Compose the hub starts once Postgres is healthy; on a Swarm
 * (docs/swarm.md) services start in no order, and Postgres may be rescheduled, so the hub asks until the
 * database answers (BERTH_DB_WAIT_SECONDS) instead of failing its first query.
 */
import { type Kysely, sql } from 'kysely';
import { databaseUnavailable } from './database.ts';

export interface WaitLog {
  info(obj: object, msg: string): void;
}

export interface WaitForDatabaseOptions {
  /** Give up after this long, in ms; 0 asks once. */
  readonly timeoutMs: number;
  /** Pause between attempts, in ms. Default 1 000. */
  readonly intervalMs?: number;
  readonly log?: WaitLog;
}

export class DatabaseWaitError extends Error {
  readonly code = 'DATABASE_UNAVAILABLE';
  constructor(waitedMs: number, cause: unknown) {
    super(
      `the database did not answer within ${Math.round(waitedMs / 1000)} s (BERTH_DB_WAIT_SECONDS): ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
    this.name = 'DatabaseWaitError';
  }
}

/**
 * Calls `probe` until it resolves. Failures that say the database cannot be reached yet (refused, unknown
 * host, starting up: {@link databaseUnavailable}) are retried until `timeoutMs`, then thrown as
 * DatabaseWaitError; any other failure (a wrong password, a missing database) is thrown at once.
 */
export async function waitFor(probe: () => Promise<unknown>, o: WaitForDatabaseOptions): Promise<void> {
  const started = Date.now();
  const interval = o.intervalMs ?? 1_000;
  for (let attempt = 1; ; attempt++) {
    try {
      await probe();
      if (attempt > 1) o.log?.info({ attempts: attempt }, 'the database answers');
      return;
    } catch (err) {
      if (!databaseUnavailable(err)) throw err;
      const waited = Date.now() - started;
      if (waited + interval > o.timeoutMs) throw new DatabaseWaitError(waited, err);
      if (attempt === 1 || attempt % 10 === 0) {
        o.log?.info(
          { attempt, err: (err as Error).message, waitedSeconds: Math.round(waited / 1000) },
          'waiting for the database',
        );
      }
      await new Promise((r) => setTimeout(r, interval));
    }
  }
}

/** {@link waitFor} with `select 1` on the hub's pool. */
export function waitForDatabase<T>(db: Kysely<T>, o: WaitForDatabaseOptions): Promise<void> {
  return waitFor(() => sql`select 1`.execute(db), o);
}

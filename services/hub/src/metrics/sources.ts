import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { MetricSources } from './hub-metrics.ts';

/** The gauges' counts, straight from the database at scrape time. */
export function databaseSources(db: Kysely<Database>): MetricSources {
  const count = async (q: Promise<{ n: string | number | bigint } | undefined>) => Number((await q)?.n ?? 0);
  return {
    totalUsers: () =>
      count(
        db
          .selectFrom('users')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirst(),
      ),
    runningServers: () =>
      count(
        db
          .selectFrom('servers')
          .where('state', '=', 'running')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirst(),
      ),
    activeUsers: (since: Date) =>
      count(
        db
          .selectFrom('users')
          .where('last_activity', '>=', since)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirst(),
      ),
  };
}

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { type Kysely, sql } from 'kysely';
import { startPostgres } from '../testing/postgres.ts';
import { createDatabase, databaseUnavailable } from './database.ts';
import type { Database } from './schema.ts';

/**
 * A connection that Postgres ends while a query is running on it (a crashed backend, as the fuzz run met one; a restart) fails that query and nothing else: the process lives on and the next query gets a new connection.
 */
describe('a database connection ended mid-query (real Postgres)', () => {
  let pg: StartedPostgreSqlContainer;
  let db: Kysely<Database>;
  let admin: Kysely<Database>;
  const seen: Error[] = [];

  before(async () => {
    pg = await startPostgres();
    db = createDatabase(pg.getConnectionUri(), 2, (err) => seen.push(err));
    admin = createDatabase(pg.getConnectionUri(), 1, () => undefined);
  });
  after(async () => {
    await db?.destroy();
    await admin?.destroy();
    await pg?.stop();
  });

  it('fails the query in flight, reports the error, and keeps the process and the pool working', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const slow = sql`select pg_sleep(30)`.execute(db).then(
        () => 'finished',
        (err: unknown) => err,
      );
      // Wait until the query runs, then end its backend from another connection.
      let pid: number | undefined;
      for (let i = 0; i < 100 && pid === undefined; i++) {
        const r = await sql<{ pid: number }>`
          select pid from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'`.execute(
          admin,
        );
        pid = r.rows[0]?.pid;
        if (pid === undefined) await new Promise((res) => setTimeout(res, 50));
      }
      assert.ok(pid, 'the slow query is running');
      // A hard end, as a crashed backend gives: no error message first, the socket just closes.
      const killed = await pg.exec(['sh', '-c', `kill -9 ${pid}`]);
      assert.equal(killed.exitCode, 0, killed.output);
      const outcome = await slow;
      assert.ok(outcome instanceof Error, `the query in flight fails: ${String(outcome)}`);
      assert.ok(databaseUnavailable(outcome), `the API answers it 503: ${String(outcome)}`);
      // The dead client's own error event arrives after the query's: give it a turn of the event loop.
      await new Promise((res) => setTimeout(res, 200));
      assert.deepEqual(uncaught, [], 'no uncaught error event');
      assert.ok(seen.length >= 1, 'the error is reported to the hub');
      // Postgres restarts its backends after one crashed; once it accepts connections again, so does the pool.
      let again: number | undefined;
      for (let i = 0; i < 100 && again === undefined; i++) {
        again = await sql<{ one: number }>`select 1 as one`.execute(db).then(
          (r) => r.rows[0]?.one,
          () => undefined,
        );
        if (again === undefined) await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal(again, 1, 'the next query gets a new connection');
      // A wrong query is no outage.
      const wrong = await sql`select * from no_such_table`.execute(db).catch((err: unknown) => err);
      assert.ok(wrong instanceof Error && !databaseUnavailable(wrong), String(wrong));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});

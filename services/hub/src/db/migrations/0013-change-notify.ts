import { type Kysely, sql } from 'kysely';

/**
 * Writes to the tables behind identities and user models notify `berth_changes`, so a hub's caches
 * (db/change-feed.ts) learn of every other process's write: the `berth` CLI, psql, a second hub. Statement-level
 * triggers: one notification per statement, whatever the number of rows. Token activity (`api_tokens.last_activity`
 * alone) changes nothing cached and does not notify.
 */
const TABLES = ['users', 'servers', 'groups', 'user_group_map'] as const;
const TOKEN_COLUMNS = [
  'user_id',
  'hash',
  'prefix',
  'kind',
  'scopes',
  'note',
  'session_id',
  'oauth_client_id',
  'server_id',
  'created',
  'expires_at',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create or replace function berth_notify_change() returns trigger language plpgsql as $$
    begin
      perform pg_notify('berth_changes', tg_table_name);
      return null;
    end $$`.execute(db);
  for (const t of TABLES) {
    await sql`create trigger ${sql.raw(`${t}_notify_change`)}
      after insert or update or delete or truncate on ${sql.table(t)}
      for each statement execute function berth_notify_change()`.execute(db);
  }
  await sql`create trigger api_tokens_notify_change
    after insert or delete or truncate or update of ${sql.join(TOKEN_COLUMNS.map((c) => sql.ref(c)))} on api_tokens
    for each statement execute function berth_notify_change()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [...TABLES, 'api_tokens']) {
    await sql`drop trigger if exists ${sql.raw(`${t}_notify_change`)} on ${sql.table(t)}`.execute(db);
  }
  await sql`drop function if exists berth_notify_change()`.execute(db);
}

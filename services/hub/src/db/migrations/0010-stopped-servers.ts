import { type Kysely, sql } from 'kysely';

/**
 * `servers.state = 'stopped'`: a server keeps its record when it stops, as JupyterHub keeps a stopped spawner, so
 * a named server can be started again, keeps its profile and last activity, and is listed with
 * `?include_stopped_servers`. Only `DELETE …/servers/{name}` with `{"remove": true}` (or deleting the user)
 * removes the record.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table servers drop constraint if exists servers_state_check`.execute(db);
  await sql`alter table servers add constraint servers_state_check
    check (state in ('pending','running','stopping','stopped'))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from servers where state = 'stopped'`.execute(db);
  await sql`alter table servers drop constraint if exists servers_state_check`.execute(db);
  await sql`alter table servers add constraint servers_state_check
    check (state in ('pending','running','stopping'))`.execute(db);
}

import { type Kysely, sql } from 'kysely';

/**
 * `servers.state = 'stopped'`: a server keeps its record when it stops, as JupyterHub keeps a stopped spawner, so
 * a named server can be started again, keeps its profile and last activity, and is listed with
 * `?include_stopped_servers`. Only `DELETE …/servers/{name}` with `{"remove": true}` (or deleting the user)
 * removes the record.
 *
 * Usage accounting (0006) counted a server from its record's insert to its delete. It now also closes the
 * interval when the record becomes `stopped` and opens a new one when a stopped record is started again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table servers drop constraint if exists servers_state_check`.execute(db);
  await sql`alter table servers add constraint servers_state_check
    check (state in ('pending','running','stopping','stopped'))`.execute(db);
  await sql`
    create function berth_usage_state() returns trigger language plpgsql as $$
    begin
      if old.state <> 'stopped' and new.state = 'stopped' then
        update server_usage set stopped = now() where server_id = new.id and stopped is null;
      elsif old.state = 'stopped' and new.state <> 'stopped' then
        insert into server_usage (server_id, user_id, user_name, server_name, groups, profile, started)
        select new.id, u.id, u.name, new.name, coalesce(u.groups, '[]'::jsonb),
               coalesce(new.profile_name, new.spawner_state ->> 'profile'), coalesce(new.started, now())
        from users u where u.id = new.user_id;
      end if;
      return new;
    end $$`.execute(db);
  await sql`create trigger servers_usage_state after update of state on servers
            for each row execute function berth_usage_state()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger if exists servers_usage_state on servers`.execute(db);
  await sql`drop function if exists berth_usage_state()`.execute(db);
  await sql`delete from servers where state = 'stopped'`.execute(db);
  await sql`alter table servers drop constraint if exists servers_state_check`.execute(db);
  await sql`alter table servers add constraint servers_state_check
    check (state in ('pending','running','stopping'))`.execute(db);
}

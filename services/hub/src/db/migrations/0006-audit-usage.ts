import { type Kysely, sql } from 'kysely';

/**
 * The audit log, and server usage intervals for accounting.
 *
 * `server_usage` is written by triggers on `servers`, so every way a server record comes and goes (the API, the
 * home page, the sweep after a restart, a failed start) is counted without the lifecycle having to remember it:
 * a row opens when a server record is claimed and closes when the record is deleted. The owner's name and groups
 * are copied at the start, so renaming or regrouping a user later does not rewrite history. The profile is taken
 * from `servers.profile_name` (0004) when set, else from `spawner_state.profile`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull().defaultTo('success'))
    .addColumn('actor', 'text')
    .addColumn('target_user', 'text')
    .addColumn('target', 'text')
    .addColumn('ip', 'text')
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
  await db.schema.createIndex('audit_log_action_at').on('audit_log').columns(['action', 'at']).execute();
  await db.schema.createIndex('audit_log_actor_at').on('audit_log').columns(['actor', 'at']).execute();

  await db.schema
    .createTable('server_usage')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('server_id', 'integer', (c) => c.notNull())
    .addColumn('user_id', 'integer', (c) => c.notNull())
    .addColumn('user_name', 'text', (c) => c.notNull())
    .addColumn('server_name', 'text', (c) => c.notNull())
    .addColumn('groups', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('profile', 'text')
    .addColumn('started', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('stopped', 'timestamptz')
    .execute();
  await db.schema.createIndex('server_usage_open').on('server_usage').column('server_id').execute();
  await db.schema
    .createIndex('server_usage_range')
    .on('server_usage')
    .columns(['started', 'stopped'])
    .execute();

  await sql`
    create function berth_usage_open() returns trigger language plpgsql as $$
    begin
      insert into server_usage (server_id, user_id, user_name, server_name, groups, profile, started)
      select new.id, u.id, u.name, new.name, coalesce(u.groups, '[]'::jsonb),
             coalesce(to_jsonb(new) ->> 'profile_name', new.spawner_state ->> 'profile'), coalesce(new.started, now())
      from users u where u.id = new.user_id;
      return new;
    end $$`.execute(db);
  await sql`
    create function berth_usage_profile() returns trigger language plpgsql as $$
    declare p text := coalesce(to_jsonb(new) ->> 'profile_name', new.spawner_state ->> 'profile');
    begin
      if p is not null then
        update server_usage set profile = p
        where server_id = new.id and stopped is null and profile is distinct from p;
      end if;
      return new;
    end $$`.execute(db);
  await sql`
    create function berth_usage_close() returns trigger language plpgsql as $$
    begin
      update server_usage set stopped = now() where server_id = old.id and stopped is null;
      return old;
    end $$`.execute(db);
  await sql`create trigger servers_usage_open after insert on servers
            for each row execute function berth_usage_open()`.execute(db);
  await sql`create trigger servers_usage_profile after update on servers
            for each row execute function berth_usage_profile()`.execute(db);
  await sql`create trigger servers_usage_close after delete on servers
            for each row execute function berth_usage_close()`.execute(db);
  // Servers running when this migration runs start being counted now.
  await sql`insert into server_usage (server_id, user_id, user_name, server_name, groups, started)
            select s.id, u.id, u.name, s.name, coalesce(u.groups, '[]'::jsonb), now()
            from servers s join users u on u.id = s.user_id`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger if exists servers_usage_close on servers`.execute(db);
  await sql`drop trigger if exists servers_usage_profile on servers`.execute(db);
  await sql`drop trigger if exists servers_usage_open on servers`.execute(db);
  await sql`drop function if exists berth_usage_close()`.execute(db);
  await sql`drop function if exists berth_usage_profile()`.execute(db);
  await sql`drop function if exists berth_usage_open()`.execute(db);
  await db.schema.dropTable('server_usage').ifExists().execute();
  await db.schema.dropTable('audit_log').ifExists().execute();
}

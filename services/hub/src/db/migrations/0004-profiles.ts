import { type Kysely, sql } from 'kysely';

/**
 * Image profiles (docs/profiles.md). A profile is a name; what it means lives in immutable, numbered versions
 * (a trigger refuses UPDATE and DELETE on them), so every change, retirement included, is a new version.
 * Image probes are kept per image pin. Servers record the profile version they run and the GPUs they hold.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('profiles')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('profile_versions')
    .addColumn('profile_id', 'integer', (c) => c.notNull().references('profiles.id').onDelete('restrict'))
    .addColumn('version', 'integer', (c) => c.notNull().check(sql`version > 0`))
    .addColumn('spec', 'jsonb', (c) => c.notNull())
    .addColumn('retired', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('config','api','cli')`))
    .addColumn('author', 'text')
    .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('profile_versions_pk', ['profile_id', 'version'])
    .execute();

  await sql`
    create function berth_profile_versions_immutable() returns trigger language plpgsql as $$
    begin
      raise exception 'profile versions are immutable: add a new version instead';
    end $$`.execute(db);
  await sql`
    create trigger profile_versions_immutable before update or delete on profile_versions
    for each row execute function berth_profile_versions_immutable()`.execute(db);

  await db.schema
    .createTable('image_probes')
    .addColumn('image', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('pending','compatible','incompatible','failed')`),
    )
    .addColumn('jupyterhub_version', 'text')
    .addColumn('image_id', 'text')
    .addColumn('detail', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('probed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .alterTable('servers')
    .addColumn('profile_name', 'text')
    .addColumn('profile_version', 'integer')
    .addColumn('gpu_devices', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('servers').dropColumn('gpu_devices').execute();
  await db.schema.alterTable('servers').dropColumn('profile_version').execute();
  await db.schema.alterTable('servers').dropColumn('profile_name').execute();
  await db.schema.dropTable('image_probes').execute();
  await db.schema.dropTable('profile_versions').execute();
  await sql`drop function berth_profile_versions_immutable()`.execute(db);
  await db.schema.dropTable('profiles').execute();
}

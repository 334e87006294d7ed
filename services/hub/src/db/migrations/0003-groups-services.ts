import { type Kysely, sql } from 'kysely';

/**
 * Groups as JupyterHub has them: a named group with properties (handed to spawners) and members. Membership
 * lives in `user_group_map`; `users.groups` (0002) stays as a mirror that GroupsRepo keeps equal to it, so the
 * login's allow-lists and `!group=` filters read one column. Existing `users.groups` entries become groups.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('groups')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('properties', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('user_group_map')
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('group_id', 'integer', (c) => c.notNull().references('groups.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('user_group_map_pk', ['user_id', 'group_id'])
    .execute();
  await db.schema.createIndex('user_group_map_group').on('user_group_map').column('group_id').execute();

  await sql`insert into groups (name)
            select distinct e.n from users u cross join lateral jsonb_array_elements_text(u.groups) as e(n)
            on conflict (name) do nothing`.execute(db);
  await sql`insert into user_group_map (user_id, group_id)
            select u.id, g.id from users u
            cross join lateral jsonb_array_elements_text(u.groups) as e(n) join groups g on g.name = e.n
            on conflict do nothing`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('user_group_map').ifExists().execute();
  await db.schema.dropTable('groups').ifExists().execute();
}

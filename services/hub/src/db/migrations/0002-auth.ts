import { type Kysely, sql } from 'kysely';

/**
 * Login sources and declarative access: each user's groups and authenticator as of their last login, their
 * (encrypted) auth state, and whether their admin flag comes from the configuration (admin_users/admin_groups),
 * so that losing it there revokes it while admins made by hand keep theirs.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('groups', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('authenticator', 'text')
    .addColumn('auth_state', 'text')
    .addColumn('admin_by_config', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('admin_by_config').execute();
  await db.schema.alterTable('users').dropColumn('auth_state').execute();
  await db.schema.alterTable('users').dropColumn('authenticator').execute();
  await db.schema.alterTable('users').dropColumn('groups').execute();
}

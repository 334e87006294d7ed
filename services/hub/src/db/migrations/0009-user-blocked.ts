import type { Kysely } from 'kysely';

/**
 * `users.blocked`: an admin blocked the user (PATCH /hub/api/users/{name} {"blocked": true}), or the
 * configuration did at a start (BERTH_BLOCKED_USERS). A blocked user cannot log in and holds no session or token.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('blocked', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('blocked').execute();
}

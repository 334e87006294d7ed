import type { Kysely } from 'kysely';
import type { Database, UserRow } from './schema.ts';

/** What the login pipeline and the start-time reconciliation write: groups, admin, auth state, revocation. */
export class AccessRepo {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  byName(name: string): Promise<UserRow | undefined> {
    return this.#db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
  }

  all(): Promise<UserRow[]> {
    return this.#db.selectFrom('users').selectAll().orderBy('id').execute();
  }

  /** Create the user if new, then record this login's facts. Returns the row as stored. */
  async recordLogin(
    name: string,
    facts: {
      admin: boolean;
      adminByConfig: boolean;
      groups: readonly string[];
      authenticator: string;
      authState?: string | null;
    },
  ): Promise<UserRow> {
    const values = {
      admin: facts.admin,
      admin_by_config: facts.adminByConfig,
      groups: JSON.stringify(facts.groups),
      authenticator: facts.authenticator,
      ...(facts.authState !== undefined ? { auth_state: facts.authState } : {}),
    };
    return this.#db
      .insertInto('users')
      .values({ name, password_hash: null, ...values })
      .onConflict((oc) => oc.column('name').doUpdateSet(values))
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async setAdmin(id: number, admin: { admin: boolean; byConfig: boolean }): Promise<void> {
    await this.#db
      .updateTable('users')
      .set({ admin: admin.admin, admin_by_config: admin.byConfig })
      .where('id', '=', id)
      .execute();
  }

  async setBlocked(id: number, blocked: boolean): Promise<void> {
    await this.#db.updateTable('users').set({ blocked }).where('id', '=', id).execute();
  }

  async setGroups(id: number, groups: readonly string[]): Promise<void> {
    await this.#db
      .updateTable('users')
      .set({ groups: JSON.stringify(groups) })
      .where('id', '=', id)
      .execute();
  }

  /**
   * End every session of the user (cascading to the OAuth tokens issued in them) and delete their API and
   * OAuth tokens. Server tokens stay with their servers until those stop. Returns how many rows went.
   */
  async revoke(userId: number): Promise<{ sessions: number; tokens: number }> {
    return this.#db.transaction().execute(async (tx) => {
      const t = await tx
        .deleteFrom('api_tokens')
        .where('user_id', '=', userId)
        .where('kind', 'in', ['api', 'oauth'])
        .executeTakeFirst();
      const s = await tx.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();
      return { sessions: Number(s.numDeletedRows), tokens: Number(t.numDeletedRows) };
    });
  }
}

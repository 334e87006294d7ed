import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface SessionRecord {
  readonly id: string;
  readonly userId: number;
  readonly expiresAt: Date;
}

export class SessionsRepo {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async create(id: string, userId: number, expiresAt: Date): Promise<void> {
    await this.#db.insertInto('sessions').values({ id, user_id: userId, expires_at: expiresAt }).execute();
  }

  async find(id: string, now: Date): Promise<SessionRecord | undefined> {
    const row = await this.#db
      .selectFrom('sessions')
      .select(['id', 'user_id', 'expires_at'])
      .where('id', '=', id)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return row && { id: row.id, userId: row.user_id, expiresAt: row.expires_at };
  }

  /** Deleting a session cascades to the OAuth tokens and codes issued in it. */
  async delete(id: string): Promise<void> {
    await this.#db.deleteFrom('sessions').where('id', '=', id).execute();
  }
}

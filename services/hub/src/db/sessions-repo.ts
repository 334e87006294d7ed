import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface SessionRecord {
  readonly id: string;
  readonly userId: number;
  readonly expiresAt: Date;
}

/** A session's last use is written at most once a minute, not on every request (a hot path). */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Login sessions. Each has two lifetimes: an absolute one (`expires_at`, set at login) and an idle one (no request
 * for `idleSeconds`; 0 turns it off). Past either, the session no longer exists for `find`.
 */
export class SessionsRepo {
  readonly #db: Kysely<Database>;
  readonly #idleMs: number;
  constructor(db: Kysely<Database>, opts: { idleSeconds?: number } = {}) {
    this.#db = db;
    this.#idleMs = (opts.idleSeconds ?? 0) * 1000;
  }

  async create(id: string, userId: number, expiresAt: Date): Promise<void> {
    await this.#db.insertInto('sessions').values({ id, user_id: userId, expires_at: expiresAt }).execute();
  }

  /** A live session (neither expired nor idle too long); using it counts as activity. */
  async find(id: string, now: Date): Promise<SessionRecord | undefined> {
    let q = this.#db
      .selectFrom('sessions')
      .select(['id', 'user_id', 'expires_at', 'last_activity'])
      .where('id', '=', id)
      .where('expires_at', '>', now);
    if (this.#idleMs > 0) q = q.where('last_activity', '>', new Date(now.getTime() - this.#idleMs));
    const row = await q.executeTakeFirst();
    if (!row) return undefined;
    if (now.getTime() - row.last_activity.getTime() >= TOUCH_INTERVAL_MS) {
      await this.#db.updateTable('sessions').set({ last_activity: now }).where('id', '=', id).execute();
    }
    return { id: row.id, userId: row.user_id, expiresAt: row.expires_at };
  }

  /** Deleting a session cascades to the OAuth tokens and codes issued in it. */
  async delete(id: string): Promise<void> {
    await this.#db.deleteFrom('sessions').where('id', '=', id).execute();
  }

  /** End every session of a user but `keep` (after a password change); returns how many ended. */
  async deleteOthers(userId: number, keep: string | undefined): Promise<number> {
    let q = this.#db.deleteFrom('sessions').where('user_id', '=', userId);
    if (keep) q = q.where('id', '<>', keep);
    const r = await q.executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

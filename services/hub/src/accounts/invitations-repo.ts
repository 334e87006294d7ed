import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { hashToken, newSecret } from '../sessions/tokens.ts';

export interface Invitation {
  readonly username: string;
  readonly admin: boolean;
  readonly createdBy: string | null;
  readonly expiresAt: Date;
}

/** Invitations: single-use, expiring secrets that let a person set the password of a new local account. */
export class InvitationsRepo {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** A new invitation; the secret is returned once and only its sha256 is stored. */
  async create(inv: Invitation): Promise<string> {
    const secret = newSecret();
    await this.#db
      .insertInto('invitations')
      .values({
        id: hashToken(secret),
        username: inv.username,
        admin: inv.admin,
        created_by: inv.createdBy,
        expires_at: inv.expiresAt,
      })
      .execute();
    return secret;
  }

  /** An unused, unexpired invitation, without using it. */
  async peek(secret: string, now: Date): Promise<Invitation | undefined> {
    const row = await this.#db
      .selectFrom('invitations')
      .selectAll()
      .where('id', '=', hashToken(secret))
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return row && toInvitation(row);
  }

  /** Use an invitation: exactly one caller gets it, and only while it is unused and unexpired. */
  async consume(secret: string, now: Date): Promise<Invitation | undefined> {
    const row = await this.#db
      .updateTable('invitations')
      .set({ used_at: now })
      .where('id', '=', hashToken(secret))
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .returningAll()
      .executeTakeFirst();
    return row && toInvitation(row);
  }
}

function toInvitation(row: {
  username: string;
  admin: boolean;
  created_by: string | null;
  expires_at: Date;
}): Invitation {
  return { username: row.username, admin: row.admin, createdBy: row.created_by, expiresAt: row.expires_at };
}

import type { Kysely } from 'kysely';
import type { Database, TokenKind, TokenRow, UserRow } from './schema.ts';

const USER_COLUMNS = [
  'id',
  'name',
  'admin',
  'password_hash',
  'created',
  'last_activity',
  'groups',
  'authenticator',
  'auth_state',
  'admin_by_config',
] as const satisfies readonly (keyof UserRow)[];

export interface NewTokenInput {
  readonly userId: number;
  readonly hash: string;
  readonly prefix: string;
  readonly kind: TokenKind;
  readonly scopes: readonly string[];
  readonly note?: string | null;
  readonly sessionId?: string | null;
  readonly oauthClientId?: string | null;
  readonly serverId?: number | null;
  readonly expiresAt?: Date | null;
}

export class TokensRepo {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async insert(t: NewTokenInput): Promise<TokenRow> {
    return this.#db
      .insertInto('api_tokens')
      .values({
        user_id: t.userId,
        hash: t.hash,
        prefix: t.prefix,
        kind: t.kind,
        scopes: JSON.stringify(t.scopes),
        note: t.note ?? null,
        session_id: t.sessionId ?? null,
        oauth_client_id: t.oauthClientId ?? null,
        server_id: t.serverId ?? null,
        expires_at: t.expiresAt ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** A live (unexpired) token by hash. */
  byHash(hash: string, now: Date): Promise<TokenRow | undefined> {
    return this.#db
      .selectFrom('api_tokens')
      .selectAll()
      .where('hash', '=', hash)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .executeTakeFirst();
  }

  /**
   * A live token and its owner in one round trip (the hot path of every token-authenticated call).
   * Nothing is cached: a revoked or expired token, or a deleted, demoted or regrouped owner, shows on the next call.
   */
  async byHashWithUser(hash: string, now: Date): Promise<{ token: TokenRow; user: UserRow } | undefined> {
    const row = await this.#db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .selectAll('api_tokens')
      .select(USER_COLUMNS.map((c) => `users.${c} as u__${c}` as const))
      .where('api_tokens.hash', '=', hash)
      .where((eb) => eb.or([eb('api_tokens.expires_at', 'is', null), eb('api_tokens.expires_at', '>', now)]))
      .executeTakeFirst();
    if (!row) return undefined;
    const token: Record<string, unknown> = {};
    const user: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      if (k.startsWith('u__')) user[k.slice(3)] = v;
      else token[k] = v;
    }
    return { token: token as TokenRow, user: user as UserRow };
  }

  async touch(id: number, when: Date): Promise<void> {
    await this.#db.updateTable('api_tokens').set({ last_activity: when }).where('id', '=', id).execute();
  }

  async deleteForServer(serverId: number): Promise<void> {
    await this.#db.deleteFrom('api_tokens').where('server_id', '=', serverId).execute();
  }

  /** The user's API and OAuth tokens (never server tokens), oldest first. */
  listForUser(userId: number): Promise<TokenRow[]> {
    return this.#db
      .selectFrom('api_tokens')
      .selectAll()
      .where('user_id', '=', userId)
      .where('kind', 'in', ['api', 'oauth'])
      .orderBy('id')
      .execute();
  }

  /** One of the user's API or OAuth tokens by id. */
  byIdForUser(id: number, userId: number): Promise<TokenRow | undefined> {
    return this.#db
      .selectFrom('api_tokens')
      .selectAll()
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .where('kind', 'in', ['api', 'oauth'])
      .executeTakeFirst();
  }

  async delete(id: number): Promise<void> {
    await this.#db.deleteFrom('api_tokens').where('id', '=', id).execute();
  }
}

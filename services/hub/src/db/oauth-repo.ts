import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface OAuthClient {
  readonly id: string;
  readonly secretHash: string;
  readonly redirectUri: string;
  readonly allowedScopes: readonly string[];
  readonly serverId: number | null;
}

export interface OAuthCode {
  readonly clientId: string;
  readonly userId: number;
  readonly sessionId: string | null;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  readonly codeChallenge: string | null;
  readonly expiresAt: Date;
}

export class OAuthRepo {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async upsertClient(c: OAuthClient): Promise<void> {
    const values = {
      id: c.id,
      secret_hash: c.secretHash,
      redirect_uri: c.redirectUri,
      allowed_scopes: JSON.stringify(c.allowedScopes),
      server_id: c.serverId,
      description: `Server at ${c.redirectUri.replace(/oauth_callback$/, '')}`,
    };
    await this.#db
      .insertInto('oauth_clients')
      .values(values)
      .onConflict((oc) => oc.column('id').doUpdateSet(values))
      .execute();
  }

  async client(id: string): Promise<OAuthClient | undefined> {
    const r = await this.#db.selectFrom('oauth_clients').selectAll().where('id', '=', id).executeTakeFirst();
    return (
      r && {
        id: r.id,
        secretHash: r.secret_hash,
        redirectUri: r.redirect_uri,
        allowedScopes: r.allowed_scopes,
        serverId: r.server_id,
      }
    );
  }

  /** Deleting the client cascades to its codes and the access tokens issued to it. */
  async deleteClient(id: string): Promise<void> {
    await this.#db.deleteFrom('oauth_clients').where('id', '=', id).execute();
  }

  async insertCode(hash: string, c: OAuthCode): Promise<void> {
    await this.#db
      .insertInto('oauth_codes')
      .values({
        hash,
        client_id: c.clientId,
        user_id: c.userId,
        session_id: c.sessionId,
        redirect_uri: c.redirectUri,
        scopes: JSON.stringify(c.scopes),
        code_challenge: c.codeChallenge,
        expires_at: c.expiresAt,
      })
      .execute();
  }

  /** Take a code: single use, atomically deleted whether or not it turns out valid. */
  async takeCode(hash: string): Promise<OAuthCode | undefined> {
    const r = await this.#db
      .deleteFrom('oauth_codes')
      .where('hash', '=', hash)
      .returningAll()
      .executeTakeFirst();
    return (
      r && {
        clientId: r.client_id,
        userId: r.user_id,
        sessionId: r.session_id,
        redirectUri: r.redirect_uri,
        scopes: r.scopes,
        codeChallenge: r.code_challenge,
        expiresAt: r.expires_at,
      }
    );
  }
}

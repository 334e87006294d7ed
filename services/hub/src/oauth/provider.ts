import { createHash } from 'node:crypto';
import { hasScope } from '../authz/scopes.ts';
import type { OAuthRepo } from '../db/oauth-repo.ts';
import type { UserRow } from '../db/schema.ts';
import type { TokensRepo } from '../db/tokens-repo.ts';
import { hashToken, newSecret, secretsEqual } from '../sessions/tokens.ts';

/** OAuth2 error codes of RFC 6749 §4.1.2.1 / §5.2. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'access_denied';

export type AuthorizeOutcome =
  | { readonly ok: true; readonly redirect: string }
  | {
      readonly ok: false;
      readonly status: 400 | 403;
      readonly error: OAuthErrorCode;
      readonly message: string;
    };

export type TokenOutcome =
  | {
      readonly ok: true;
      readonly body: { access_token: string; token_type: 'Bearer'; expires_in: number; scope: string };
    }
  | {
      readonly ok: false;
      readonly status: 400 | 401;
      readonly error: OAuthErrorCode;
      readonly message: string;
    };

export interface AuthorizeRequest {
  readonly client_id?: string;
  readonly redirect_uri?: string;
  readonly response_type?: string;
  readonly state?: string;
  readonly code_challenge?: string;
  readonly code_challenge_method?: string;
}

const CODE_TTL_MS = 2 * 60 * 1000;

/** The OAuth2 provider single-user servers log their visitors in through (authorization code, PKCE optional). */
export class OAuthProvider {
  readonly #oauth: OAuthRepo;
  readonly #tokens: TokensRepo;
  readonly #tokenTtlSeconds: number;
  readonly #now: () => Date;

  constructor(deps: { oauth: OAuthRepo; tokens: TokensRepo; tokenTtlSeconds: number; now?: () => Date }) {
    this.#oauth = deps.oauth;
    this.#tokens = deps.tokens;
    this.#tokenTtlSeconds = deps.tokenTtlSeconds;
    this.#now = deps.now ?? (() => new Date());
  }

  /** Validate an authorization request before anything else; errors here never redirect (RFC 6749 §4.1.2.1). */
  async checkClient(q: AuthorizeRequest): Promise<AuthorizeOutcome | undefined> {
    if (!q.client_id)
      return { ok: false, status: 400, error: 'invalid_request', message: 'missing client_id' };
    const client = await this.#oauth.client(q.client_id);
    if (!client) return { ok: false, status: 400, error: 'invalid_client', message: 'unknown client_id' };
    if (!q.redirect_uri || q.redirect_uri !== client.redirectUri) {
      return {
        ok: false,
        status: 400,
        error: 'invalid_request',
        message: 'redirect_uri does not match the client',
      };
    }
    if (q.response_type !== 'code') {
      return {
        ok: false,
        status: 400,
        error: 'unsupported_response_type',
        message: 'response_type must be code',
      };
    }
    if (!q.state) return { ok: false, status: 400, error: 'invalid_request', message: 'missing state' };
    if (q.code_challenge !== undefined && (q.code_challenge_method ?? 'plain') !== 'S256') {
      return {
        ok: false,
        status: 400,
        error: 'invalid_request',
        message: 'only S256 code challenges are accepted',
      };
    }
    return undefined;
  }

  /** The user is logged in; decide and issue a code. */
  async authorize(
    q: AuthorizeRequest,
    user: UserRow,
    userScopes: readonly string[],
    sessionId: string | null,
  ): Promise<AuthorizeOutcome> {
    const bad = await this.checkClient(q);
    if (bad) return bad;
    const client = await this.#oauth.client(q.client_id as string);
    if (!client) return { ok: false, status: 400, error: 'invalid_client', message: 'unknown client_id' };
    // The client's scopes name one server; the visitor must hold access to it.
    const granted = client.allowedScopes.filter((s) => {
      const m = /^access:servers!server=([^/]+)\/(.*)$/.exec(s);
      return m
        ? hasScope(userScopes, 'access:servers', { user: m[1] as string, server: `${m[1]}/${m[2]}` })
        : false;
    });
    if (granted.length === 0) {
      return {
        ok: false,
        status: 403,
        error: 'access_denied',
        message: `${user.name} may not access this server`,
      };
    }
    const code = newSecret();
    await this.#oauth.insertCode(hashToken(code), {
      clientId: client.id,
      userId: user.id,
      sessionId,
      redirectUri: client.redirectUri,
      scopes: granted,
      codeChallenge: q.code_challenge ?? null,
      expiresAt: new Date(this.#now().getTime() + CODE_TTL_MS),
    });
    const sep = client.redirectUri.includes('?') ? '&' : '?';
    const qs = new URLSearchParams({ code, state: q.state as string });
    return { ok: true, redirect: `${client.redirectUri}${sep}${qs}` };
  }

  async exchange(form: Readonly<Record<string, string | undefined>>): Promise<TokenOutcome> {
    if (form.grant_type !== 'authorization_code') {
      return {
        ok: false,
        status: 400,
        error: 'unsupported_grant_type',
        message: 'grant_type must be authorization_code',
      };
    }
    const { client_id, client_secret, code, redirect_uri, code_verifier } = form;
    if (!client_id || !client_secret || !code || !redirect_uri) {
      return {
        ok: false,
        status: 400,
        error: 'invalid_request',
        message: 'missing client_id, client_secret, code or redirect_uri',
      };
    }
    const client = await this.#oauth.client(client_id);
    if (!client || !secretsEqual(hashToken(client_secret), client.secretHash)) {
      return { ok: false, status: 401, error: 'invalid_client', message: 'client authentication failed' };
    }
    // Single use: the code is deleted as it is read, valid or not.
    const grant = await this.#oauth.takeCode(hashToken(code));
    if (!grant || grant.clientId !== client.id || grant.expiresAt <= this.#now()) {
      return {
        ok: false,
        status: 400,
        error: 'invalid_grant',
        message: 'invalid, expired or already used code',
      };
    }
    if (grant.redirectUri !== redirect_uri) {
      return { ok: false, status: 400, error: 'invalid_grant', message: 'redirect_uri does not match' };
    }
    if (grant.codeChallenge !== null) {
      const ok =
        typeof code_verifier === 'string' &&
        createHash('sha256').update(code_verifier).digest('base64url') === grant.codeChallenge;
      if (!ok) return { ok: false, status: 400, error: 'invalid_grant', message: 'PKCE verification failed' };
    }
    const token = newSecret();
    await this.#tokens.insert({
      userId: grant.userId,
      hash: hashToken(token),
      prefix: token.slice(0, 4),
      kind: 'oauth',
      scopes: grant.scopes,
      sessionId: grant.sessionId,
      oauthClientId: client.id,
      serverId: client.serverId,
      expiresAt: new Date(this.#now().getTime() + this.#tokenTtlSeconds * 1000),
    });
    return {
      ok: true,
      body: {
        access_token: token,
        token_type: 'Bearer',
        expires_in: this.#tokenTtlSeconds,
        scope: grant.scopes.join(' '),
      },
    };
  }
}

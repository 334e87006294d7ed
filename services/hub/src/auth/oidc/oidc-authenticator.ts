import type * as client from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import type { Authenticator, AuthInput, AuthOutcome } from '../authenticator.ts';
import { refused } from '../authenticator.ts';

/** openid-client loads at the first OIDC login, not with every hub (most deployments never use it). */
const loadOidcClient = () => import('openid-client');

/** Where a provider's login and callback routes live: `/hub/oidc` for `oidc`, `/hub/oidc/<name>` for `oidc:<name>`. */
export function oidcBasePath(kind: string): string {
  return kind === 'oidc' ? '/hub/oidc' : `/hub/oidc/${kind.slice('oidc:'.length)}`;
}

export interface OidcOptions {
  /** `oidc` (the unnamed provider) or `oidc:<name>`; stored with each user it logs in. Default `oidc`. */
  readonly kind?: string;
  /** Shown on the login button: "Sign in with <displayName>". */
  readonly displayName: string;
  /** Exactly the issuer discovery returns. */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** `<public url>/hub/oidc/callback`, registered at the IdP. */
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  readonly usernameClaim: string;
  readonly groupsClaim: string;
  /** PEM CA(s) for the IdP's https, besides the system CAs. */
  readonly ca?: string;
  readonly timeoutMs: number;
  /** Log out at the IdP too, when it offers an end_session_endpoint. */
  readonly logoutAtIdp: boolean;
  /** Claims kept in auth state (`claims`), from the id_token or else userinfo. */
  readonly authStateClaims?: readonly string[];
}

/** What one login attempt keeps between the redirect and the callback (in a signed, short-lived cookie). */
export interface OidcFlow {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  readonly next: string;
}

export interface CallbackInput {
  readonly kind: 'callback';
  /** The full callback URL as the IdP sent the browser to it. */
  readonly url: URL;
  /** Undefined when the flow cookie is missing or forged. */
  readonly flow: OidcFlow | undefined;
}

type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/**
 * OpenID Connect login (openid-client 6): discovery, authorization code with PKCE S256, state and nonce, the
 * id_token checked against the issuer's JWKS, audience and issuer. Groups come from the id_token, or from
 * userinfo when the id_token lacks the claim. Refresh and id tokens go into auth state (encrypted at rest).
 */
export class OidcAuthenticator implements Authenticator {
  readonly kind: string;
  readonly accepts = 'callback';
  readonly displayName: string;
  readonly redirectUri: string;
  readonly #o: OidcOptions;
  readonly #fetch: Fetch;
  readonly #agent: Agent | undefined;
  #config: Promise<client.Configuration> | undefined;

  constructor(options: OidcOptions) {
    this.#o = options;
    this.kind = options.kind ?? 'oidc';
    this.displayName = options.displayName;
    this.redirectUri = options.redirectUri;
    this.#agent = options.ca ? new Agent({ connect: { ca: options.ca } }) : undefined;
    const agent = this.#agent;
    this.#fetch = (url, init) => {
      const signal = AbortSignal.any(
        [AbortSignal.timeout(options.timeoutMs), init.signal].filter((s): s is AbortSignal => !!s),
      );
      if (!agent) return fetch(url, { ...init, signal });
      return undiciFetch(url, {
        ...(init as object),
        signal,
        dispatcher: agent,
      }) as unknown as Promise<Response>;
    };
  }

  /** Discovery, once; a failure is retried at the next login. */
  #discover(): Promise<client.Configuration> {
    this.#config ??= loadOidcClient()
      .then((lib) =>
        lib
          .discovery(
            new URL(this.#o.issuer),
            this.#o.clientId,
            { redirect_uris: [this.#o.redirectUri], response_types: ['code'] },
            lib.ClientSecretPost(this.#o.clientSecret),
            { [lib.customFetch]: this.#fetch as client.CustomFetch },
          )
          .then((c) => {
            c[lib.customFetch] = this.#fetch as client.CustomFetch;
            return c;
          }),
      )
      .catch((err: unknown) => {
        this.#config = undefined;
        throw err;
      });
    return this.#config;
  }

  /** Where to send the browser, and what to remember until it comes back. Throws when the IdP is down. */
  async begin(next: string): Promise<{ url: URL; flow: OidcFlow }> {
    const lib = await loadOidcClient();
    const config = await this.#discover();
    const flow: OidcFlow = {
      state: lib.randomState(),
      nonce: lib.randomNonce(),
      verifier: lib.randomPKCECodeVerifier(),
      next,
    };
    const url = lib.buildAuthorizationUrl(config, {
      redirect_uri: this.#o.redirectUri,
      scope: this.#o.scopes.join(' '),
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: await lib.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
    });
    return { url, flow };
  }

  async authenticate(input: AuthInput): Promise<AuthOutcome> {
    const lib = await loadOidcClient();
    if (input.kind !== 'callback') return refused('invalid');
    if (!input.flow) return refused('invalid', 'no login in progress (missing or forged flow cookie)');
    let config: client.Configuration;
    try {
      config = await this.#discover();
    } catch (err) {
      return refused('unavailable', describe(err));
    }
    try {
      const tokens = await lib.authorizationCodeGrant(config, input.url, {
        pkceCodeVerifier: input.flow.verifier,
        expectedState: input.flow.state,
        expectedNonce: input.flow.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) return refused('invalid', 'no id_token');
      return await this.#outcome(config, tokens, claims.sub, {});
    } catch (err) {
      return isProtocolError(err) ? refused('invalid', describe(err)) : refused('unavailable', describe(err));
    }
  }

  /** Username, groups and auth state from a token response (claims from the id_token, else userinfo). */
  async #outcome(
    config: client.Configuration,
    tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
    sub: string,
    previous: Readonly<Record<string, unknown>>,
  ): Promise<AuthOutcome> {
    const lib = await loadOidcClient();
    const claims = tokens.claims() ?? {};
    const all = claims as Record<string, unknown>;
    let groupsClaim: unknown = all[this.#o.groupsClaim];
    let username: unknown = all[this.#o.usernameClaim];
    const keep = this.#o.authStateClaims ?? [];
    const kept: Record<string, unknown> = {};
    for (const c of keep) if (all[c] !== undefined) kept[c] = all[c];
    if (groupsClaim === undefined || username === undefined || keep.some((c) => kept[c] === undefined)) {
      const info = await lib.fetchUserInfo(config, tokens.access_token, sub);
      groupsClaim ??= info[this.#o.groupsClaim];
      username ??= info[this.#o.usernameClaim];
      for (const c of keep) if (kept[c] === undefined && info[c] !== undefined) kept[c] = info[c];
    }
    if (typeof username !== 'string' || username === '') {
      return refused('invalid', `no ${this.#o.usernameClaim} claim`);
    }
    const groups = Array.isArray(groupsClaim)
      ? groupsClaim.filter((g): g is string => typeof g === 'string')
      : [];
    const authState: Record<string, unknown> = {
      sub,
      id_token: tokens.id_token ?? previous.id_token,
      refresh_token: tokens.refresh_token ?? previous.refresh_token,
      access_expires_at: Date.now() + (tokens.expiresIn() ?? 0) * 1000,
      ...(keep.length ? { claims: kept } : {}),
    };
    return { ok: true, username, groups, authState };
  }

  /** Use the stored refresh token: the user as the IdP sees them now (groups included), or refused. */
  async refresh(state: Readonly<Record<string, unknown>>): Promise<AuthOutcome> {
    const lib = await loadOidcClient();
    const rt = state.refresh_token;
    const sub = state.sub;
    if (typeof rt !== 'string' || typeof sub !== 'string') return refused('invalid', 'no refresh token');
    let config: client.Configuration;
    try {
      config = await this.#discover();
    } catch (err) {
      return refused('unavailable', describe(err));
    }
    try {
      const tokens = await lib.refreshTokenGrant(config, rt);
      const claims = tokens.claims();
      if (claims && claims.sub !== sub) return refused('invalid', 'subject changed');
      return await this.#outcome(config, tokens, sub, state);
    } catch (err) {
      return isProtocolError(err) ? refused('invalid', describe(err)) : refused('unavailable', describe(err));
    }
  }

  /** The IdP's logout URL, when it has one and logging out there is on. */
  async endSessionUrl(idTokenHint: string | undefined, postLogoutRedirect: string): Promise<URL | undefined> {
    const lib = await loadOidcClient();
    if (!this.#o.logoutAtIdp) return undefined;
    try {
      const config = await this.#discover();
      if (!config.serverMetadata().end_session_endpoint) return undefined;
      return lib.buildEndSessionUrl(config, {
        post_logout_redirect_uri: postLogoutRedirect,
        client_id: this.#o.clientId,
        ...(idTokenHint ? { id_token_hint: idTokenHint } : {}),
      });
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    await this.#agent?.close();
  }
}

/** Errors where the IdP or the response said no (state, nonce, code, audience...), as opposed to "down". */
function isProtocolError(err: unknown): boolean {
  const e = err as { name?: string; code?: string };
  return (
    e?.name === 'ResponseBodyError' ||
    e?.name === 'AuthorizationResponseError' ||
    (typeof e?.code === 'string' && e.code.startsWith('OAUTH_'))
  );
}

function describe(err: unknown): string {
  const e = err as Error & { code?: unknown; error?: unknown };
  return `${e?.name ?? 'Error'}${e?.code ? ` ${String(e.code)}` : ''}${e?.error ? ` ${String(e.error)}` : ''}: ${String(e?.message ?? '').slice(0, 200)}`;
}

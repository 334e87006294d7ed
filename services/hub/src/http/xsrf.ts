import Tokens from '@fastify/csrf';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HubError } from '../errors.ts';
import { cookieNames, readSessionSecret } from './session-cookie.ts';

/**
 * XSRF protection: a per-browser secret in a signed, HttpOnly cookie, and tokens derived from it with an HMAC
 * over the session (@fastify/csrf), so a token from one session is useless in another (no cookie tossing).
 * Forms send `_xsrf`; scripts send the `X-XSRFToken` header.
 */
export class Xsrf {
  readonly #tokens: Tokens.TokensUserinfo;
  readonly #secure: boolean;

  constructor(hmacKey: string, secureCookies: boolean) {
    this.#tokens = Tokens({ userInfo: true, hmacKey });
    this.#secure = secureCookies;
  }

  #userInfo(req: FastifyRequest): string {
    const s = readSessionSecret(req);
    return s ? `session:${s}` : 'anonymous';
  }

  #secret(req: FastifyRequest): string | undefined {
    const raw = req.cookies[cookieNames(req.server).xsrf];
    if (!raw) return undefined;
    const u = req.unsignCookie(raw);
    return u.valid && u.value ? u.value : undefined;
  }

  /** A token for a page being rendered; sets the secret cookie on first use. */
  token(req: FastifyRequest, reply: FastifyReply): string {
    let secret = this.#secret(req);
    if (!secret) {
      secret = this.#tokens.secretSync();
      const n = cookieNames(reply.server);
      reply.setCookie(n.xsrf, secret, {
        path: n.path,
        httpOnly: true,
        sameSite: 'lax',
        secure: this.#secure || n.forceSecure,
        signed: true,
      });
    }
    return this.#tokens.create(secret, this.#userInfo(req));
  }

  /** Throws XSRF_MISSING unless the request carries a valid token for this browser and session. */
  verify(req: FastifyRequest): void {
    const body = req.body as Record<string, unknown> | undefined;
    const fromBody = body && typeof body === 'object' ? body._xsrf : undefined;
    const header = req.headers['x-xsrftoken'];
    const token = typeof fromBody === 'string' ? fromBody : typeof header === 'string' ? header : '';
    const secret = this.#secret(req);
    if (!secret || !token || !this.#tokens.verify(secret, token, this.#userInfo(req))) {
      throw new HubError('XSRF_MISSING', 'missing or invalid XSRF token');
    }
  }
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /** Per-user subdomains are on: the hub's cookies are `__Host-` cookies (see cookieNames). */
    berthHostCookies?: boolean;
  }
}

/**
 * The hub's login cookie. Without subdomains every user server runs user code on the hub's origin, so the
 * cookie is scoped to Path /hub/ and is never sent to /user/...; HttpOnly; SameSite=Lax; Secure whenever the
 * public URL is https. With per-user subdomains (BERTH_SUBDOMAIN_HOST) user code runs on other hosts, so the
 * cookie is `__Host-berth-session`: Secure, Path=/, no Domain, which browsers bind to the hub's exact host.
 */
export const SESSION_COOKIE = 'berth-session';
export const XSRF_COOKIE = 'berth-xsrf';
export const HUB_COOKIE_PATH = '/hub/';
export const HOST_SESSION_COOKIE = '__Host-berth-session';
export const HOST_XSRF_COOKIE = '__Host-berth-xsrf';

export interface CookieNames {
  readonly session: string;
  readonly xsrf: string;
  readonly path: string;
  /** `__Host-` cookies must be Secure. */
  readonly forceSecure: boolean;
}

const PATH_COOKIES: CookieNames = {
  session: SESSION_COOKIE,
  xsrf: XSRF_COOKIE,
  path: HUB_COOKIE_PATH,
  forceSecure: false,
};
const HOST_COOKIES: CookieNames = {
  session: HOST_SESSION_COOKIE,
  xsrf: HOST_XSRF_COOKIE,
  path: '/',
  forceSecure: true,
};

/** Called once on the root instance, before routes, when per-user subdomains are on. */
export function useHostPrefixCookies(app: FastifyInstance): void {
  app.decorate('berthHostCookies', true);
}

export function cookieNames(server: FastifyInstance): CookieNames {
  return server.berthHostCookies === true ? HOST_COOKIES : PATH_COOKIES;
}

export function readSessionSecret(req: FastifyRequest): string | undefined {
  const raw = req.cookies[cookieNames(req.server).session];
  if (!raw) return undefined;
  const u = req.unsignCookie(raw);
  return u.valid && u.value ? u.value : undefined;
}

export function setSessionCookie(
  reply: FastifyReply,
  secret: string,
  maxAgeSeconds: number,
  secure: boolean,
): void {
  const n = cookieNames(reply.server);
  reply.setCookie(n.session, secret, {
    path: n.path,
    httpOnly: true,
    sameSite: 'lax',
    secure: secure || n.forceSecure,
    signed: true,
    maxAge: maxAgeSeconds,
  });
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean): void {
  const n = cookieNames(reply.server);
  reply.clearCookie(n.session, {
    path: n.path,
    httpOnly: true,
    sameSite: 'lax',
    secure: secure || n.forceSecure,
  });
}

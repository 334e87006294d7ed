import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The hub's login cookie. Path /hub/ so it is never sent to user servers (which run user code behind the same
 * origin); HttpOnly; SameSite=Lax; Secure whenever the public URL is https.
 */
export const SESSION_COOKIE = 'berth-session';
export const XSRF_COOKIE = 'berth-xsrf';
export const HUB_COOKIE_PATH = '/hub/';

export function readSessionSecret(req: FastifyRequest): string | undefined {
  const raw = req.cookies[SESSION_COOKIE];
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
  reply.setCookie(SESSION_COOKIE, secret, {
    path: HUB_COOKIE_PATH,
    httpOnly: true,
    sameSite: 'lax',
    secure,
    signed: true,
    maxAge: maxAgeSeconds,
  });
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean): void {
  reply.clearCookie(SESSION_COOKIE, { path: HUB_COOKIE_PATH, httpOnly: true, sameSite: 'lax', secure });
}

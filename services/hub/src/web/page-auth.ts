import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../auth/identity.ts';
import { sessionIdentity } from '../http/auth.ts';
import type { HubContext } from '../http/context.ts';
import { safeNext } from './next-url.ts';

/** The page viewer from the session cookie, or a redirect to the login page (then undefined). */
export async function requirePageLogin(
  ctx: HubContext,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<Identity | undefined> {
  const id = await sessionIdentity(ctx, req);
  if (!id) {
    reply.redirect(`/hub/login?next=${encodeURIComponent(safeNext(req.url))}`, 302);
    return undefined;
  }
  return id;
}

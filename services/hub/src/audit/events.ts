import type { FastifyRequest } from 'fastify';
import type { LoginResult } from '../auth/login-pipeline.ts';
import type { HubContext } from '../http/context.ts';

/** A login attempt: who signed in, or (on failure) the name that was typed. Never the password. */
export async function auditLogin(
  ctx: Pick<HubContext, 'audit'>,
  req: FastifyRequest,
  result: LoginResult,
  via: string,
  typedName?: string,
): Promise<void> {
  await ctx.audit.record(
    result.ok
      ? {
          action: 'login',
          actor: result.user.name,
          targetUser: result.user.name,
          ip: req.ip,
          detail: { via, authenticator: result.authenticator },
        }
      : {
          action: 'login',
          outcome: 'failure',
          actor: null,
          targetUser: typedName ? typedName.slice(0, 64) : null,
          ip: req.ip,
          detail: { via, reason: result.reason },
        },
  );
}

export async function auditLogout(
  ctx: Pick<HubContext, 'audit' | 'users'>,
  req: FastifyRequest,
  userId: number | undefined,
): Promise<void> {
  if (userId === undefined) return;
  const user = await ctx.users.byId(userId);
  await ctx.audit.record({
    action: 'logout',
    actor: user?.name ?? null,
    targetUser: user?.name ?? null,
    ip: req.ip,
  });
}

/**
 * An OAuth authorization that lets `visitor` into a server: recorded when the server belongs to someone else
 * (an admin with access:servers, or a user granted access to it).
 */
export async function auditServerAccess(
  ctx: Pick<HubContext, 'audit' | 'oauthRepo'>,
  req: FastifyRequest,
  visitor: string,
  clientId: string | undefined,
): Promise<void> {
  if (!clientId) return;
  const client = await ctx.oauthRepo.client(clientId);
  for (const s of client?.allowedScopes ?? []) {
    const m = /^access:servers!server=([^/]+)\/(.*)$/.exec(s);
    if (m && m[1] !== visitor) {
      await ctx.audit.record({
        action: 'server.access',
        actor: visitor,
        targetUser: m[1] as string,
        target: `server ${m[1]}/${m[2]}`,
        ip: req.ip,
        detail: { client_id: clientId },
      });
    }
  }
}

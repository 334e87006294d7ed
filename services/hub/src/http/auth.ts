import type { FastifyRequest } from 'fastify';
import type { Identity } from '../auth/identity.ts';
import { expandGroupFilters } from '../authz/group-filters.ts';
import { hasScope, type Target } from '../authz/scopes.ts';
import type { Caller } from '../authz/services.ts';
import { HubError } from '../errors.ts';
import { tokenFromAuthorization } from '../sessions/tokens.ts';
import type { HubContext } from './context.ts';
import { readSessionSecret } from './session-cookie.ts';
import type { Xsrf } from './xsrf.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who called, for the audit log: a user (token or session) or a service (BERTH_RBAC_FILE). */
    berthIdentity?: Caller | null;
  }
}

/** Tokens in URLs leak through logs and Referer headers: refuse them outright. */
export function refuseTokenInUrl(req: FastifyRequest): void {
  const q = req.query as Record<string, unknown> | undefined;
  if (q && typeof q === 'object' && 'token' in q) {
    throw new HubError('BAD_REQUEST', 'tokens in URLs are not accepted; use the Authorization header');
  }
}

/** The caller's identity from the session cookie only (pages). */
export async function sessionIdentity(ctx: HubContext, req: FastifyRequest): Promise<Identity | undefined> {
  const secret = readSessionSecret(req);
  return secret ? ctx.identity.fromSession(secret) : undefined;
}

/**
 * The caller of an API endpoint: a token in the Authorization header, or the session cookie plus an XSRF
 * token bound to that session. Throws 403 when neither.
 */
export async function apiIdentity(ctx: HubContext, req: FastifyRequest, xsrf: Xsrf): Promise<Identity> {
  const id = await callerIdentity(ctx, req, xsrf);
  // `X!group=g` also grants X on g's members (one query, only when such a filter is held).
  const scopes = await expandGroupFilters(id.scopes, (g) => ctx.groups.membersByName(g));
  return scopes.length === id.scopes.length ? id : { ...id, scopes };
}

/**
 * Like apiIdentity, but a service's token (BERTH_RBAC_FILE) is accepted too: for the endpoints JupyterHub
 * lets services use (users, servers, groups, services, proxy, info).
 */
export async function apiCaller(ctx: HubContext, req: FastifyRequest, xsrf: Xsrf): Promise<Caller> {
  refuseTokenInUrl(req);
  const service = req.headers.authorization !== undefined ? ctx.serviceTokens.identify(req) : undefined;
  if (!service) return apiIdentity(ctx, req, xsrf);
  const scopes = await expandGroupFilters(service.scopes, (g) => ctx.groups.membersByName(g));
  const caller = { ...service, scopes };
  req.berthIdentity = caller; // for the audit log: the service is the actor
  return caller;
}

async function callerIdentity(ctx: HubContext, req: FastifyRequest, xsrf: Xsrf): Promise<Identity> {
  refuseTokenInUrl(req);
  const header = req.headers.authorization;
  if (header !== undefined) {
    const token = tokenFromAuthorization(header);
    const id = token ? await ctx.identity.fromToken(token) : undefined;
    if (!id) throw new HubError('UNAUTHENTICATED', 'invalid or expired token');
    req.berthIdentity = id; // for the audit log
    return id;
  }
  const id = await sessionIdentity(ctx, req);
  if (!id) throw new HubError('UNAUTHENTICATED', 'authentication required');
  xsrf.verify(req);
  req.berthIdentity = id; // for the audit log
  return id;
}

export function requireScope(
  id: { readonly scopes: readonly string[] },
  scope: string,
  target: Target = {},
): void {
  if (!hasScope(id.scopes, scope, target)) {
    throw new HubError('FORBIDDEN', `action requires the scope ${scope}`);
  }
}

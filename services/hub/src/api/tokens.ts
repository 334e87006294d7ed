import type { FastifyRequest } from 'fastify';
import type { RoleBook } from '../authz/roles.ts';
import { intersectWithOwner } from '../authz/scopes.ts';
import { HubError } from '../errors.ts';
import { apiCaller, requireScope } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { hashToken, newSecret } from '../sessions/tokens.ts';
import { checkUserName } from './validate.ts';

const bodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    note: { type: 'string', maxLength: 1000 },
    expires_in: { type: 'integer', minimum: 1, maximum: 10 * 365 * 24 * 3600 },
    scopes: { type: 'array', maxItems: 100, items: { type: 'string', maxLength: 200 } },
    roles: { type: 'array', maxItems: 10, items: { type: 'string', enum: ['user', 'token'] } },
  },
} as const;

type Body = { note?: string; expires_in?: number; scopes?: string[]; roles?: string[] };

export const tokensRoutes: RouteModule = (app, { ctx, xsrf }) => {
  app.post(
    '/hub/api/users/:name/tokens',
    { schema: { body: bodySchema } },
    async (req: FastifyRequest<{ Params: { name: string }; Body: Body | undefined }>, reply) => {
      const id = await apiCaller(ctx, req, xsrf);
      const name = checkUserName(req.params.name);
      requireScope(id, 'tokens', { user: name });
      const user = await ctx.users.byName(name);
      if (!user) throw new HubError('USER_NOT_FOUND', `no such user: ${name}`);
      const created = await issueApiToken(ctx, user, req.body ?? {});
      return reply.code(201).send(created);
    },
  );
};

/** Create an API token for `user`; used by the REST API and the CLI. */
export async function issueApiToken(
  ctx: Pick<Parameters<RouteModule>[1]['ctx'], 'tokens'> & { readonly roles?: RoleBook },
  user: { id: number; name: string; admin: boolean; groups?: readonly string[]; blocked?: boolean },
  body: Body,
) {
  // A blocked user holds no token: not one they make, nor one an admin makes for them.
  if (user.blocked === true) throw new HubError('FORBIDDEN', `${user.name} is blocked`);
  const requested = body.scopes ?? ['inherit'];
  const { kept, refused } = intersectWithOwner(requested, {
    name: user.name,
    admin: user.admin,
    extra: ctx.roles?.forUser(user.name, user.groups ?? []).scopes ?? [],
  });
  if (refused.length > 0) {
    throw new HubError('FORBIDDEN', `${user.name} does not hold the scopes: ${refused.join(', ')}`);
  }
  const token = newSecret();
  const expiresAt = body.expires_in ? new Date(Date.now() + body.expires_in * 1000) : null;
  const row = await ctx.tokens.insert({
    userId: user.id,
    hash: hashToken(token),
    prefix: token.slice(0, 4),
    kind: 'api',
    scopes: kept,
    note: body.note ?? null,
    expiresAt,
  });
  return {
    token,
    id: `a${row.id}`,
    kind: 'api_token',
    user: user.name,
    note: row.note,
    scopes: kept,
    roles: [],
    created: row.created.toISOString(),
    expires_at: expiresAt?.toISOString() ?? null,
    last_activity: null,
  };
}

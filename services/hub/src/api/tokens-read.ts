import type { FastifyRequest } from 'fastify';
import type { TokenRow, UserRow } from '../db/schema.ts';
import { HubError } from '../errors.ts';
import { apiCaller, requireScope } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { checkUserName } from './validate.ts';

type Req = FastifyRequest<{ Params: { name: string; id?: string } }>;

const iso = (d: Date | null): string | null => (d ? new Date(d).toISOString() : null);

/** A token as JupyterHub's REST API shapes it: never the token itself, never its hash. */
export function tokenModel(user: UserRow, t: TokenRow) {
  return {
    id: `a${t.id}`,
    kind: 'api_token',
    user: user.name,
    roles: [] as string[],
    scopes: t.scopes,
    note: t.note,
    created: iso(t.created),
    expires_at: iso(t.expires_at),
    last_activity: iso(t.last_activity),
    session_id: t.session_id,
    oauth_client: t.oauth_client_id,
  };
}

/** `a12` → 12; anything else is no token at all (404, as JupyterHub). */
function tokenId(raw: string | undefined): number {
  const m = /^a([1-9]\d{0,9})$/.exec(raw ?? '');
  const n = m ? Number(m[1]) : 0;
  if (n < 1 || n > 2 ** 31 - 1) throw new HubError('NOT_FOUND', 'no such token');
  return n;
}

/** `GET /users/:name/tokens`, `GET` and `DELETE /users/:name/tokens/:id`. Minting lives in tokens.ts. */
export const tokensReadRoutes: RouteModule = (app, { ctx, xsrf }) => {
  async function owner(req: Req, scope: string): Promise<UserRow> {
    const id = await apiCaller(ctx, req, xsrf);
    const name = checkUserName(req.params.name);
    requireScope(id, scope, { user: name });
    const user = await ctx.users.byName(name);
    if (!user) throw new HubError('USER_NOT_FOUND', `no such user: ${name}`);
    return user;
  }

  async function one(user: UserRow, raw: string | undefined): Promise<TokenRow> {
    const row = await ctx.tokens.byIdForUser(tokenId(raw), user.id);
    if (!row) throw new HubError('NOT_FOUND', 'no such token');
    return row;
  }

  app.get('/hub/api/users/:name/tokens', async (req: Req) => {
    const user = await owner(req, 'read:tokens');
    const rows = await ctx.tokens.listForUser(user.id);
    return { api_tokens: rows.map((t) => tokenModel(user, t)) };
  });

  app.get('/hub/api/users/:name/tokens/:id', async (req: Req) => {
    const user = await owner(req, 'read:tokens');
    return tokenModel(user, await one(user, req.params.id));
  });

  app.delete('/hub/api/users/:name/tokens/:id', async (req: Req, reply) => {
    const user = await owner(req, 'tokens');
    await ctx.tokens.delete((await one(user, req.params.id)).id);
    return reply.code(204).send();
  });
};

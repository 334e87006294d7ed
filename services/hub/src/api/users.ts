import type { FastifyRequest } from 'fastify';
import { visibleAuthState } from '../auth/auth-state-view.ts';
import { hasScope } from '../authz/scopes.ts';
import { HubError } from '../errors.ts';
import { apiCaller, requireScope } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { userModel } from './models.ts';
import { includeStoppedServers } from './pagination.ts';
import { serviceModel } from './services.ts';
import { checkUserName } from './validate.ts';

export const usersRoutes: RouteModule = (app, deps) => {
  const { ctx, xsrf } = deps;

  async function model(user: Parameters<typeof userModel>[0], includeStopped = false) {
    const servers = await ctx.reads.serversOf(user.id, { includeStopped });
    const pending = new Set(servers.filter((s) => ctx.lifecycle.isPending(user, s.name)).map((s) => s.name));
    return userModel(user, servers, pending, (s) => ctx.culler.warning(user.name, s));
  }

  /** The identity behind a token or session, with its expanded scopes. */
  app.get('/hub/api/user', async (req) => {
    const id = await apiCaller(ctx, req, xsrf);
    if (id.via === 'service') {
      // A service asking who it is gets its own model, as JupyterHub answers a service token.
      const own = [
        `read:services!service=${id.service.name}`,
        `read:roles:services!service=${id.service.name}`,
      ];
      const all = { ...id, scopes: [...id.scopes, ...own] };
      return {
        ...serviceModel(all, id.service, id.roles),
        scopes: id.scopes,
        session_id: null,
        token_id: null,
      };
    }
    return {
      ...(await model(id.user, includeStoppedServers(req))),
      scopes: id.scopes,
      session_id: id.sessionId,
      token_id: id.via === 'token' ? `a${id.token.id}` : null,
    };
  });

  app.get('/hub/api/users/:name', async (req: FastifyRequest<{ Params: { name: string } }>) => {
    const id = await apiCaller(ctx, req, xsrf);
    const name = checkUserName(req.params.name);
    requireScope(id, 'read:users', { user: name });
    const user = await ctx.users.byName(name);
    if (!user) throw new HubError('USER_NOT_FOUND', `no such user: ${name}`);
    // As in JupyterHub: auth_state only for a caller holding admin:auth_state on this user.
    const stopped = includeStoppedServers(req);
    if (!hasScope(id.scopes, 'admin:auth_state', { user: name })) return model(user, stopped);
    return { ...(await model(user, stopped)), auth_state: visibleAuthState(ctx.login, user) };
  });
};

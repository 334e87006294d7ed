import type { FastifyRequest } from 'fastify';
import { visibleAuthState } from '../auth/auth-state-view.ts';
import { hasScope } from '../authz/scopes.ts';
import { HubError } from '../errors.ts';
import { apiCaller } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { userModel } from './models.ts';
import { includeStoppedServers } from './pagination.ts';
import { scopedUserModel, USER_MODEL_SCOPES } from './scoped-model.ts';
import { serviceModel } from './services.ts';
import { checkUserName } from './validate.ts';

export const usersRoutes: RouteModule = (app, deps) => {
  const { ctx, xsrf } = deps;

  async function model(user: Parameters<typeof userModel>[0], includeStopped = false) {
    const servers = await ctx.reads.serversOf(user.id, { includeStopped });
    const pending = new Set(servers.filter((s) => ctx.lifecycle.isPending(user, s.name)).map((s) => s.name));
    const roles = ctx.roles.assignedToUser(user.name);
    return userModel(user, servers, pending, (s) => ctx.culler.warning(user.name, s), roles);
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
    // As JupyterHub: every token may identify its owner (name and groups), and sees the rest of its own model
    // only as its scopes allow; `scopes` lists what it holds, without those identify scopes.
    const me = id.user.name;
    const identify = [`read:users:name!user=${me}`, `read:users:groups!user=${me}`];
    return {
      ...scopedUserModel(await model(id.user, includeStoppedServers(req)), [...id.scopes, ...identify]),
      scopes: id.scopes,
      session_id: id.sessionId,
      token_id: id.via === 'token' ? `a${id.token.id}` : null,
    };
  });

  app.get('/hub/api/users/:name', async (req: FastifyRequest<{ Params: { name: string } }>) => {
    const id = await apiCaller(ctx, req, xsrf);
    const name = checkUserName(req.params.name);
    // As JupyterHub: any scope that reveals part of the model lets the caller in; it sees that part.
    if (!USER_MODEL_SCOPES.some((s) => hasScope(id.scopes, s, { user: name }))) {
      throw new HubError('FORBIDDEN', `action requires one of the scopes ${USER_MODEL_SCOPES.join(', ')}`);
    }
    const user = await ctx.users.byName(name);
    if (!user) throw new HubError('USER_NOT_FOUND', `no such user: ${name}`);
    const seen = scopedUserModel(await model(user, includeStoppedServers(req)), id.scopes);
    // As in JupyterHub: auth_state only for a caller holding admin:auth_state on this user.
    if (!hasScope(id.scopes, 'admin:auth_state', { user: name })) return seen;
    return { ...seen, auth_state: visibleAuthState(ctx.login, user) };
  });
};

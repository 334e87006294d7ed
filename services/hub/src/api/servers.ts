import type { FastifyReply, FastifyRequest } from 'fastify';
import { HubError } from '../errors.ts';
import { apiCaller, requireScope } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { removeNamedServer } from '../servers/remove.ts';
import { serverModel } from './models.ts';
import { spawnChoice } from './spawn-options.ts';
import { checkServerName, checkUserName } from './validate.ts';
import { volumePolicyOverride } from './volume-query.ts';

type Req = FastifyRequest<{ Params: { name: string; server?: string }; Body: unknown }>;

/** `{"remove": true}` in a DELETE's body (JupyterHub); no body, `{}` or `{"remove": false}` only stop. */
function removeFlag(body: unknown): boolean {
  if (body === undefined || body === null) return false;
  if (typeof body !== 'object' || Array.isArray(body))
    throw new HubError('INVALID_BODY', 'body must be an object');
  const remove = (body as { remove?: unknown }).remove;
  if (remove === undefined) return false;
  if (typeof remove !== 'boolean') throw new HubError('INVALID_BODY', 'remove must be true or false');
  return remove;
}

export const serversRoutes: RouteModule = (app, { ctx, xsrf }) => {
  async function target(req: Req, scope: string) {
    const id = await apiCaller(ctx, req, xsrf);
    const name = checkUserName(req.params.name);
    const serverName = req.params.server === undefined ? '' : checkServerName(req.params.server);
    requireScope(id, scope, { user: name, server: `${name}/${serverName}` });
    const user = await ctx.users.byName(name);
    if (!user) throw new HubError('USER_NOT_FOUND', `no such user: ${name}`);
    return { user, serverName };
  }

  async function start(req: Req, reply: FastifyReply) {
    // Who asks comes first: a caller without the scope learns nothing about what the body may hold.
    const { user, serverName } = await target(req, 'start:servers');
    // A blocked user runs nothing, not even a server an admin starts for them.
    if (user.blocked === true) throw new HubError('FORBIDDEN', `${user.name} is blocked`);
    // Users choose a profile by name and nothing else: any other option is refused, never ignored.
    const choice = spawnChoice(req.body);
    const existing = await ctx.servers.find(user.id, serverName);
    if (existing?.state === 'running') {
      throw new HubError(
        'CONFLICT',
        `${user.name}'s server ${serverName ? `${serverName} ` : ''}is already running`,
      );
    }
    // As the spawn form does: a user whose IdP access token expired is re-checked with the refresh token first.
    const recheck = await ctx.login.recheck(user);
    if (!recheck.ok) {
      if (recheck.reason === 'unavailable') {
        throw new HubError(
          'UNAVAILABLE',
          'the identity provider cannot re-check this user right now; try again later',
        );
      }
      // The IdP no longer vouches for them: their sessions end, as a refused re-check ends the form's session.
      await ctx.sessions.deleteOthers(user.id, undefined);
      throw new HubError(
        'FORBIDDEN',
        `${user.name} must log in again: the identity provider no longer allows them`,
      );
    }
    const out = await ctx.lifecycle.start(recheck.user, serverName, choice);
    if (out.status === 'ready') return reply.code(201).send(serverModel(recheck.user, out.server, false));
    if (out.status === 'pending') return reply.code(202).send();
    if (out.status === 'refused') {
      if (out.retryAfterSeconds !== undefined) reply.header('retry-after', String(out.retryAfterSeconds));
      if (out.code === 'NO_GPU_AVAILABLE') throw new HubError('NO_GPU_AVAILABLE', out.message);
      throw new HubError(out.code === 'USER_SERVER_LIMIT' ? 'BAD_REQUEST' : 'TOO_MANY_REQUESTS', out.message);
    }
    throw new HubError('SPAWN_FAILED', `spawn failed (${out.code}): ${out.message}`);
  }

  /**
   * Stop a server (JupyterHub's DELETE): it keeps its record and can be started again. With `{"remove": true}`
   * a named server is also removed for good, and its home volume archived, deleted or kept (`?volumes=`, the
   * configured BERTH_VOLUME_ON_USER_DELETE by default). The default server cannot be removed.
   */
  async function stop(req: Req, reply: FastifyReply) {
    const { user, serverName } = await target(req, 'delete:servers');
    const remove = removeFlag(req.body);
    const volumes = volumePolicyOverride(req.query);
    if (volumes !== undefined && !remove) {
      throw new HubError('BAD_REQUEST', 'volumes applies only with {"remove": true}');
    }
    if (serverName === '') {
      if (remove) throw new HubError('BAD_REQUEST', 'Cannot delete the default server');
      await ctx.lifecycle.stop(user, serverName);
      return reply.code(204).send();
    }
    if (!(await ctx.servers.record(user.id, serverName))) {
      throw new HubError('SERVER_NOT_FOUND', `${user.name} has no server named '${serverName}'`);
    }
    if (!remove) {
      await ctx.lifecycle.stop(user, serverName);
      return reply.code(204).send();
    }
    await removeNamedServer(ctx, user, serverName, volumes);
    return reply.code(204).send();
  }

  app.post('/hub/api/users/:name/server', start);
  app.delete('/hub/api/users/:name/server', stop);
  app.post('/hub/api/users/:name/servers/:server', start);
  app.delete('/hub/api/users/:name/servers/:server', stop);
};

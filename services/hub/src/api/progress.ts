import type { FastifyReply, FastifyRequest } from 'fastify';
import { HubError } from '../errors.ts';
import { apiCaller, requireScope } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { checkServerName, checkUserName } from './validate.ts';

type Req = FastifyRequest<{ Params: { name: string; server?: string }; Querystring: { _xsrf?: string } }>;

const HEARTBEAT_MS = 15_000;

/**
 * `GET /hub/api/users/:name/server/progress` (and `/servers/:server/progress`): a server's start as
 * server-sent events, in JupyterHub's shape `{progress, message, ready, url}` (or `failed`). A browser's
 * EventSource cannot send headers, so with cookie auth the XSRF token may come as `?_xsrf=`, as in JupyterHub.
 */
export const progressRoutes: RouteModule = (app, { ctx, xsrf }) => {
  async function progress(req: Req, reply: FastifyReply) {
    if (req.headers.authorization === undefined && typeof req.query._xsrf === 'string') {
      req.headers['x-xsrftoken'] = req.query._xsrf;
    }
    const id = await apiCaller(ctx, req, xsrf);
    const name = checkUserName(req.params.name);
    const serverName = req.params.server === undefined ? '' : checkServerName(req.params.server);
    requireScope(id, 'read:servers', { user: name, server: `${name}/${serverName}` });
    const user = await ctx.users.byName(name);
    if (!user) throw new HubError('USER_NOT_FOUND', `no such user: ${name}`);
    const events = ctx.lifecycle.progress(user, serverName);
    const first = await events.next();
    if (first.done) throw new HubError('BAD_REQUEST', `${name}'s server ${serverName} is not starting`);

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    let open = true;
    const heartbeat = setInterval(() => res.write(':\n\n'), HEARTBEAT_MS);
    req.raw.on('close', () => {
      open = false;
      clearInterval(heartbeat);
      void events.return(undefined);
    });
    try {
      res.write(`data: ${JSON.stringify(first.value)}\n\n`);
      for await (const ev of events) {
        if (!open) break;
        res.write(`data: ${JSON.stringify(ev)}\n\n`);
      }
    } finally {
      clearInterval(heartbeat);
      res.end();
    }
  }

  app.get('/hub/api/users/:name/server/progress', progress);
  app.get('/hub/api/users/:name/servers/:server/progress', progress);
};

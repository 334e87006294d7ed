import type { FastifyRequest } from 'fastify';
import { actorName } from '../authz/services.ts';
import { HubError } from '../errors.ts';
import { apiCaller, requireScope } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { pageFromQuery, paginated, wantsPagination } from './pagination.ts';

const proxyPatchSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    api_url: { type: 'string', maxLength: 2000 },
    auth_token: { type: 'string', maxLength: 2000 },
  },
} as const;

const shutdownSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { proxy: { type: 'boolean' }, servers: { type: 'boolean' } },
} as const;

const emptyBodyIsObject = async (req: { body: unknown }) => {
  if (req.body === undefined || req.body === null) req.body = {};
};

/** A CHP path as JupyterHub's routespec: always with a trailing slash (`_routespec_from_chp_path`). */
const routespec = (path: string) => (path.endsWith('/') ? path : `${path}/`);

/** Route data the hub set, without its own marker, as JupyterHub's `_reformat_routespec`. */
function routeModel(spec: string, route: Record<string, unknown>) {
  const { target, berth: _b, jupyterhub: _j, ...data } = route;
  return { routespec: spec, target, data };
}

/**
 * `/hub/api/proxy` (scope `proxy`): the proxy's routing table as JupyterHub shows it (GET, paginated), a sync of
 * the proxy with the database (POST, and PATCH without a new location). `/hub/api/shutdown` (scope `shutdown`):
 * the hub exits cleanly; user servers and the proxy keep running, always.
 */
export const hubAdminRoutes: RouteModule = (app, { ctx, xsrf }) => {
  const sync = () => ctx.metrics.time(ctx.metrics.checkRoutesDuration, () => ctx.lifecycle.reconcileRoutes());

  app.get('/hub/api/proxy', async (req, reply) => {
    const c = await apiCaller(ctx, req, xsrf);
    requireScope(c, 'proxy');
    const page = pageFromQuery(req);
    let all: Record<string, Record<string, unknown>>;
    try {
      all = (await ctx.proxyRoutes.list()) as Record<string, Record<string, unknown>>;
    } catch (err) {
      throw new HubError('UNAVAILABLE', `the proxy cannot be reached: ${(err as Error).message}`);
    }
    // Only the hub's own routes, as JupyterHub omits routes it did not add.
    const keys = Object.keys(all)
      .filter((k) => all[k]?.berth === true || all[k]?.jupyterhub === true)
      .sort();
    const routes: Record<string, unknown> = {};
    for (const k of keys.slice(page.offset, page.offset + page.limit))
      routes[routespec(k)] = routeModel(routespec(k), all[k] ?? {});
    if (!wantsPagination(req)) return routes;
    reply.type('application/jupyterhub-pagination+json');
    // JupyterHub pages the routes object itself: `items` is an object here, not a list.
    const shown = Object.keys(routes);
    const { _pagination } = paginated(
      shown,
      page,
      keys.length,
      `${ctx.config.publicUrl.replace(/\/+$/, '')}/hub/api/proxy`,
    );
    return { items: routes, _pagination };
  });

  app.post('/hub/api/proxy', async (req, reply) => {
    const c = await apiCaller(ctx, req, xsrf);
    requireScope(c, 'proxy');
    try {
      await sync();
    } catch (err) {
      throw new HubError('UNAVAILABLE', `the proxy could not be synced: ${(err as Error).message}`);
    }
    return reply.code(200).send();
  });

  app.patch(
    '/hub/api/proxy',
    { schema: { body: proxyPatchSchema }, preValidation: emptyBodyIsObject },
    async (req: FastifyRequest<{ Body: { api_url?: string; auth_token?: string } }>, reply) => {
      const c = await apiCaller(ctx, req, xsrf);
      requireScope(c, 'proxy');
      if (req.body.api_url !== undefined || req.body.auth_token !== undefined) {
        throw new HubError(
          'BAD_REQUEST',
          'the proxy API location and token come from the configuration (BERTH_PROXY_API_URL, CONFIGPROXY_AUTH_TOKEN); they cannot be changed at run time',
        );
      }
      try {
        await sync();
      } catch (err) {
        throw new HubError('UNAVAILABLE', `the proxy could not be synced: ${(err as Error).message}`);
      }
      return reply.code(200).send();
    },
  );

  app.post(
    '/hub/api/shutdown',
    { schema: { body: shutdownSchema }, preValidation: emptyBodyIsObject },
    async (req: FastifyRequest<{ Body: { proxy?: boolean; servers?: boolean } }>, reply) => {
      const c = await apiCaller(ctx, req, xsrf);
      requireScope(c, 'shutdown');
      if (req.body.servers === true) {
        throw new HubError(
          'BAD_REQUEST',
          'Berth never stops user servers with the hub; stop them one by one',
        );
      }
      if (req.body.proxy === true) {
        throw new HubError('BAD_REQUEST', 'the proxy is a service of its own; the hub does not stop it');
      }
      ctx.log.warn({ by: actorName(c) }, 'shutdown requested through the API; user servers keep running');
      reply.raw.once('finish', () => ctx.shutdown.request(actorName(c)));
      return reply.code(202).send({ message: 'Shutting down Hub' });
    },
  );
};

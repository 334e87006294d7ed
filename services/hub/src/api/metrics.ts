import { apiCaller, requireScope } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';

/**
 * `GET /hub/metrics` in Prometheus' text format (scope `read:metrics`, as JupyterHub's authenticate_prometheus),
 * and the request timing behind `jupyterhub_request_duration_seconds`. Registered before other routes.
 */
export const metricsRoutes: RouteModule = (app, { ctx, xsrf }) => {
  const m = ctx.metrics;
  app.addHook('onResponse', async (req, reply) => {
    // The route pattern, never the raw URL: label values stay few.
    const handler = req.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    const code = reply.statusCode;
    m.requestDuration.observe({ method: req.method, handler, code: String(code) }, seconds);
    if (handler === '/hub/login' && req.method === 'POST') {
      m.loginDuration.observe({ status: code === 302 || code === 303 ? 'success' : 'failure' }, seconds);
    } else if (handler === '/hub/logout') {
      m.logoutDuration.observe(seconds);
    }
  });

  app.get('/hub/metrics', async (req, reply) => {
    const c = await apiCaller(ctx, req, xsrf);
    requireScope(c, 'read:metrics');
    return reply.type(m.contentType).send(await m.text());
  });
};

import type { RouteModule } from '../http/route-deps.ts';

/** `GET /hub/api`: single-user servers check it (no auth) at start-up. */
export const rootRoutes: RouteModule = (app, { ctx }) => {
  app.get('/hub/api', async () => ({ version: ctx.jupyterhubVersion }));
  app.get('/hub/api/', async () => ({ version: ctx.jupyterhubVersion }));
  app.get('/hub/health', async (_req, reply) => {
    try {
      await ctx.db.selectFrom('users').select('id').limit(1).execute();
      return { status: 'ok' };
    } catch {
      return reply.code(503).send({ status: 503, message: 'database unavailable' });
    }
  });
};

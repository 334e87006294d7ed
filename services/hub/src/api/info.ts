import { apiCaller, requireScope } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { BERTH_VERSION } from '../version.ts';

/**
 * `GET /hub/api/info` (scope `read:hub`): JupyterHub's shape. Berth is not Python, so `python` and
 * `sys_executable` name the runtime instead; the plugin classes are names, as JupyterHub reports them.
 */
export const infoRoutes: RouteModule = (app, { ctx, xsrf }) => {
  app.get('/hub/api/info', async (req) => {
    const id = await apiCaller(ctx, req, xsrf);
    requireScope(id, 'read:hub');
    return {
      version: ctx.jupyterhubVersion,
      python: `Node.js ${process.versions.node} (Berth ${BERTH_VERSION})`,
      sys_executable: 'node',
      spawner: { class: 'berth.spawner.DockerSpawner', version: BERTH_VERSION },
      authenticator: {
        class: ctx.config.auth.authenticators.map((a) => `berth.auth.${a}`).join(','),
        version: BERTH_VERSION,
      },
    };
  });
};

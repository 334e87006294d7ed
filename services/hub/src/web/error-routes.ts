import type { RouteModule } from '../http/route-deps.ts';
import { errorPage } from './pages.ts';

/**
 * JupyterHub's `/hub/error/<code>`: the pages the proxy shows a browser when it cannot serve a URL itself
 * (BERTH_PROXY_ERROR_TARGET, CHP's --error-target). The proxy asks `GET /hub/error/<code>?url=<request url>` and
 * sends the page with its own status. Nothing from the request is echoed back.
 */
const MESSAGES: Readonly<Record<number, string>> = {
  404: 'Nothing is served at this URL.',
  503: 'The server for this URL is not reachable right now. Try again in a moment.',
};

const USER_SERVER_DOWN =
  'Your server is not reachable right now. It may be starting or stopping, or it may have stopped: go Home to start it again.';

export const errorPageRoutes: RouteModule = (app) => {
  app.get<{ Params: { code: string }; Querystring: { url?: string } }>(
    '/hub/error/:code',
    { schema: { hide: true } },
    async (req, reply) => {
      const status = /^[45]\d\d$/.test(req.params.code) ? Number(req.params.code) : 404;
      const url = typeof req.query.url === 'string' ? req.query.url : '';
      const message =
        status === 503 && url.startsWith('/user/')
          ? USER_SERVER_DOWN
          : (MESSAGES[status] ?? 'Something went wrong.');
      return reply.code(status).type('text/html; charset=utf-8').send(errorPage(status, message));
    },
  );
};

import type { ServerOptions as HttpsOptions } from 'node:https';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { activityRoutes } from '../api/activity.ts';
import { auditRoutes } from '../api/audit.ts';
import { groupsRoutes } from '../api/groups.ts';
import { hubAdminRoutes } from '../api/hub-admin.ts';
import { infoRoutes } from '../api/info.ts';
import { metricsRoutes } from '../api/metrics.ts';
import { registerOpenApi } from '../api/openapi.ts';
import { profilesRoutes } from '../api/profiles.ts';
import { progressRoutes } from '../api/progress.ts';
import { rootRoutes } from '../api/root.ts';
import { serversRoutes } from '../api/servers.ts';
import { servicesRoutes } from '../api/services.ts';
import { tokensRoutes } from '../api/tokens.ts';
import { tokensReadRoutes } from '../api/tokens-read.ts';
import { usersRoutes } from '../api/users.ts';
import { usersAdminRoutes } from '../api/users-admin.ts';
import { oidcRoutes } from '../auth/oidc/routes.ts';
import { databaseUnavailable } from '../db/database.ts';
import { HubError } from '../errors.ts';
import { loggerOptions } from '../log.ts';
import { oauthRoutes } from '../oauth/routes.ts';
import { userHostSources } from '../servers/user-hosts.ts';
import { errorPage } from '../web/pages.ts';
import { webRoutes } from '../web/routes.ts';
import { uiRoutes } from '../web/ui-routes.ts';
import { applyBodyPolicy } from './body-policy.ts';
import type { HubContext } from './context.ts';
import type { RouteDeps } from './route-deps.ts';
import { useHostPrefixCookies } from './session-cookie.ts';
import { TrustedProxies } from './trusted-proxies.ts';
import { guardUserHosts } from './user-host-guard.ts';
import { Xsrf } from './xsrf.ts';

const wantsJson = (req: FastifyRequest) =>
  req.url.startsWith('/hub/api') ||
  req.url.startsWith('/hub/metrics') ||
  (req.headers.accept ?? '').includes('application/json');

/**
 * Build the hub's HTTP server: plugins, hooks and routes. No business logic here. With `https` (internal TLS),
 * it serves TLS only and requires a client certificate from the authorities the options trust.
 */
export async function buildServer(
  ctx: HubContext,
  opts: { https?: HttpsOptions } = {},
): Promise<FastifyInstance> {
  const secureCookies = new URL(ctx.config.publicUrl).protocol === 'https:';
  // X-Forwarded-For is believed only from BERTH_TRUSTED_PROXIES, hop by hop (req.ip is the client).
  const proxies = await TrustedProxies.create(ctx.config.trustedProxies, ctx.log);
  const app = Fastify({
    ...(opts.https ? { https: opts.https } : {}),
    logger: loggerOptions(ctx.config.logLevel),
    bodyLimit: 1024 * 1024,
    trustProxy: proxies.empty ? false : proxies.trusts,
    routerOptions: { maxParamLength: 500 },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Validate, never coerce or silently drop: a wrong type or unknown field is a 400.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  }) as unknown as FastifyInstance;

  // Per-user subdomains: `__Host-` cookies on the hub's host (http/session-cookie.ts).
  if (ctx.config.subdomainHost) {
    useHostPrefixCookies(app);
    guardUserHosts(app, ctx.config.publicUrl);
  }
  // JSON endpoints accept JSON only; text/plain bodies are a CSRF vector.
  app.removeContentTypeParser('text/plain');
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  // Strict UTF-8 JSON; forms never reach API endpoints (http/body-policy.ts).
  applyBodyPolicy(app);
  await app.register(cookie, { secret: ctx.cookieSecret });
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        // With subdomains the login form may go on to the user's own host.
        formAction: ["'self'", ...userHostSources(ctx.config.subdomainHost)],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
    hsts: false, // Caddy sends HSTS at the edge.
  });
  await app.register(rateLimit, { global: false });
  // Before any route: every /hub/api route's schema feeds the OpenAPI document (docs/openapi.json).
  await registerOpenApi(app);
  app.addHook('onClose', async () => proxies.close());

  app.addHook('onRequest', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-jupyterhub-version', ctx.jupyterhubVersion);
  });

  const xsrf = new Xsrf(ctx.cookieSecret, secureCookies);
  const deps: RouteDeps = { ctx, xsrf, secureCookies };

  app.setErrorHandler(
    (
      err: Error & { statusCode?: number; code?: string; validation?: unknown; validationContext?: string },
      req,
      reply,
    ) => {
      let status = 500;
      let code = 'INTERNAL';
      let message = 'internal error';
      if (err instanceof HubError) {
        ({ status, code, message } = err);
      } else if (err.validation) {
        status = 400;
        // A path parameter that fails its pattern is a bad name, as the handlers' own checks say.
        code = err.validationContext === 'params' ? 'INVALID_NAME' : 'INVALID_BODY';
        message = err.message;
      } else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
        status = err.statusCode;
        code = err.code ?? 'BAD_REQUEST';
        message = err.message;
      } else if (databaseUnavailable(err)) {
        // Postgres restarting or unreachable: a condition to retry, not a bug.
        status = 503;
        code = 'UNAVAILABLE';
        message = 'the database is unavailable; try again shortly';
        req.log.warn({ err: err.message }, 'database unavailable');
      } else {
        req.log.error({ err }, 'unhandled error');
      }
      if (wantsJson(req)) return reply.code(status).send({ status, message, code });
      return reply.code(status).type('text/html').send(errorPage(status, message));
    },
  );

  for (const routes of [
    auditRoutes, // first: its onResponse hook audits every route after it
    metricsRoutes, // early too: its onResponse hook times every route after it
    rootRoutes,
    usersRoutes,
    serversRoutes,
    profilesRoutes,
    progressRoutes,
    tokensRoutes,
    activityRoutes,
    usersAdminRoutes,
    tokensReadRoutes,
    infoRoutes,
    groupsRoutes,
    hubAdminRoutes,
    servicesRoutes,
    oauthRoutes,
    oidcRoutes,
    uiRoutes,
    webRoutes,
  ]) {
    routes(app, deps);
  }
  return app;
}

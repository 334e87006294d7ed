import type { FastifyReply, FastifyRequest } from 'fastify';
import { auditLogin, auditLogout } from '../audit/events.ts';
import type { Identity } from '../auth/identity.ts';
import { idpLogoutUrl, oidcButtons } from '../auth/oidc/routes.ts';
import { hasScope } from '../authz/scopes.ts';
import { SettingsRepo } from '../db/settings-repo.ts';
import { sessionIdentity } from '../http/auth.ts';
import { loginThrottle } from '../http/login-throttle.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { clearSessionCookie, readSessionSecret, setSessionCookie } from '../http/session-cookie.ts';
import { serverPrefix } from '../servers/naming.ts';
import { userHostsFor } from '../servers/user-hosts.ts';
import { hashToken, newSecret } from '../sessions/tokens.ts';
import { errorPageRoutes } from './error-routes.ts';
import { safeNext, safeNextBeforeLogin, safeNextForUser } from './next-url.ts';
import { errorPage, loginPage, notRunningPage } from './pages.ts';
import { SPAWN_PENDING_JS } from './spawn-pending-script.ts';
import { BERTH_CSS } from './styles.ts';

type LoginBody = { username?: unknown; password?: unknown; next?: unknown };

export const webRoutes: RouteModule = (app, deps) => {
  const { ctx, xsrf, secureCookies } = deps;
  const userHosts = userHostsFor(ctx.config.subdomainHost);
  const hubOrigin = new URL(ctx.config.publicUrl).origin;
  errorPageRoutes(app, deps);
  // The XSRF token is bound to the session, so a token from one session is useless in another.
  const xsrfFor = (req: FastifyRequest, reply: FastifyReply) => xsrf.token(req, reply);
  const settings = new SettingsRepo(ctx.db);

  async function requireLogin(req: FastifyRequest, reply: FastifyReply): Promise<Identity | undefined> {
    const id = await sessionIdentity(ctx, req);
    if (!id) {
      reply.redirect(`/hub/login?next=${encodeURIComponent(safeNext(req.url))}`, 302);
      return undefined;
    }
    return id;
  }

  app.get('/hub/static/berth.css', async (_req, reply) =>
    reply.type('text/css').header('cache-control', 'public, max-age=3600').send(BERTH_CSS),
  );
  app.get('/hub/static/spawn-pending.js', async (_req, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(SPAWN_PENDING_JS),
  );
  app.get('/', async (_req, reply) => reply.redirect('/hub/', 302));
  app.get('/hub', async (_req, reply) => reply.redirect('/hub/', 302));
  app.get('/hub/', async (req, reply) => {
    const id = await sessionIdentity(ctx, req);
    return reply.redirect(id ? '/hub/home' : '/hub/login', 302);
  });

  app.get('/hub/login', async (req: FastifyRequest<{ Querystring: { next?: string } }>, reply) => {
    const next = safeNextBeforeLogin(req.query.next, userHosts);
    const already = await sessionIdentity(ctx, req);
    if (already) return reply.redirect(safeNextForUser(next, userHosts, already.user.name), 302);
    return reply.type('text/html').send(
      loginPage({
        xsrf: xsrfFor(req, reply),
        next,
        providers: oidcButtons(ctx, next),
        banner: await settings.get('announcement'),
      }),
    );
  });

  const throttle = loginThrottle(
    {
      perUserPerMinute: ctx.config.sessions.loginAttemptsPerMinute,
      perClientPerMinute: ctx.config.sessions.loginAttemptsPerMinutePerClient,
    },
    loginKey,
  );
  app.post(
    '/hub/login',
    {
      preHandler: [async (req) => xsrf.verify(req), throttle],
    },
    async (req, reply) => {
      const body = (req.body ?? {}) as LoginBody;
      const next = safeNextBeforeLogin(body.next, userHosts);
      const typed = typeof body.username === 'string' ? body.username.trim().slice(0, 64) : '';
      const result = await ctx.login.loginWithPassword(body.username, body.password);
      await auditLogin(ctx, req, result, 'password', typed);
      if (!result.ok) {
        // Wrong password, unknown user, blocked and not allowed all look the same from outside.
        const down = result.reason === 'unavailable';
        return reply
          .code(down ? 503 : 403)
          .type('text/html')
          .send(
            loginPage({
              xsrf: xsrfFor(req, reply),
              next,
              username: typed,
              providers: oidcButtons(ctx, next),
              banner: await settings.get('announcement'),
              error: down
                ? 'The login service is unavailable right now. Please try again in a few minutes.'
                : 'Invalid username or password.',
            }),
          );
      }
      const user = result.user;
      // A new session at every login (no fixation); the old one, if any, ends.
      const old = readSessionSecret(req);
      if (old) await ctx.sessions.delete(hashToken(old));
      const secret = newSecret();
      const maxAge = ctx.config.sessions.maxAgeSeconds;
      await ctx.sessions.create(hashToken(secret), user.id, new Date(Date.now() + maxAge * 1000));
      setSessionCookie(reply, secret, maxAge, secureCookies);
      // A full URL survives only when it is on this user's own host (per-user subdomains).
      return reply.redirect(safeNextForUser(next, userHosts, user.name), 302);
    },
  );

  async function logout(req: FastifyRequest, reply: FastifyReply) {
    const secret = readSessionSecret(req);
    const session = secret ? await ctx.sessions.find(hashToken(secret), new Date()) : undefined;
    // Deleting the session cascades to every OAuth token its servers were issued.
    if (secret) await ctx.sessions.delete(hashToken(secret));
    await auditLogout(ctx, req, session?.userId);
    clearSessionCookie(reply, secureCookies);
    // Users who came through an IdP are logged out there too, when it offers it.
    const idp = session ? await idpLogoutUrl(ctx, session.userId) : undefined;
    return reply.redirect(idp ?? '/hub/login', 302);
  }
  app.post('/hub/logout', { preHandler: async (req) => xsrf.verify(req) }, logout);
  // Single-user servers send the browser here with a GET after clearing their own cookie.
  app.get('/hub/logout', logout);

  app.get('/hub/user-redirect/*', async (req: FastifyRequest<{ Params: { '*': string } }>, reply) => {
    const id = await requireLogin(req, reply);
    if (!id) return reply;
    const rest = req.params['*'] ?? '';
    const path = safeNext(`${serverPrefix(id.user.name, '')}${rest}`);
    return reply.redirect(userHosts.subdomains ? `${userHosts.origin(id.user.name)}${path}` : path, 302);
  });

  /** The proxy's default route sends /user/... here when no server route matches. */
  app.all('/user/*', async (req: FastifyRequest<{ Params: { '*': string } }>, reply) => {
    const [owner = '', ...rest] = (req.params['*'] ?? '').split('/');
    const isApi = rest.includes('api') || (req.headers.accept ?? '').includes('application/json');
    if (isApi) {
      return reply
        .code(503)
        .send({ status: 503, message: `server for ${owner.slice(0, 64)} is not running` });
    }
    // The hub's cookie is scoped to /hub/, so decide under /hub/user/… where the browser sends it. Without
    // this, a logged-in user would bounce between /user/… and the login page (JupyterHub does the same).
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    const hubPath = safeNext(`/hub/user/${req.params['*'] ?? ''}${query}`);
    // With subdomains this may be a user's host: the hub's cookie lives on the hub's host only.
    return reply.redirect(userHosts.subdomains ? `${hubOrigin}${hubPath}` : hubPath, 302);
  });

  app.get(
    '/hub/user/*',
    async (req: FastifyRequest<{ Params: { '*': string }; Querystring: { redirects?: string } }>, reply) => {
      const path = req.params['*'] ?? '';
      const [owner = ''] = path.split('/');
      const id = await requireLogin(req, reply);
      if (!id) return reply;
      const isOwner = id.user.name === owner;
      if (isOwner) {
        const row = await ctx.servers.find(id.user.id, '');
        if (row?.state === 'running') {
          // Running, but the proxy had no route (e.g. it just restarted): heal, then send the user back,
          // counting the round trips so a route that cannot be healed ends in a page, not a loop.
          const redirects = Number(req.query.redirects ?? '0') || 0;
          if (redirects >= 3) {
            return reply
              .code(503)
              .type('text/html')
              .send(
                errorPage(
                  503,
                  'Your server is running but cannot be reached right now. Try again in a minute.',
                ),
              );
          }
          await ctx.lifecycle.reconcileRoutes();
          const back = new URL(`/user/${path}`, 'http://same.invalid');
          for (const [k, v] of Object.entries(req.query as Record<string, string>)) {
            if (k !== 'redirects') back.searchParams.set(k, v);
          }
          back.searchParams.set('redirects', String(redirects + 1));
          const there = safeNext(back.pathname + back.search);
          return reply.redirect(
            userHosts.subdomains ? `${userHosts.origin(id.user.name)}${there}` : there,
            302,
          );
        }
        if (row || ctx.lifecycle.isPending(id.user, '')) {
          return reply.redirect(`/hub/spawn-pending/${encodeURIComponent(owner)}`, 302);
        }
      }
      const canSee = isOwner || hasScope(id.scopes, 'access:servers', { user: owner, server: `${owner}/` });
      return reply
        .code(canSee ? 424 : 404)
        .type('text/html')
        .send(notRunningPage(id.user, xsrfFor(req, reply), owner, isOwner));
    },
  );

  app.setNotFoundHandler(async (req, reply) => {
    if (req.url.startsWith('/hub/api')) return reply.code(404).send({ status: 404, message: 'not found' });
    return reply.code(404).type('text/html').send(errorPage(404, 'Page not found.'));
  });
};

function loginKey(req: FastifyRequest): string {
  const body = req.body as LoginBody | undefined;
  const user = typeof body?.username === 'string' ? body.username.trim().toLowerCase().slice(0, 64) : '';
  return user;
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import { ROLE_SCOPES } from '../authz/scopes.ts';
import type { ServerRow } from '../db/schema.ts';
import { SettingsRepo } from '../db/settings-repo.ts';
import { HubError } from '../errors.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { clearSessionCookie } from '../http/session-cookie.ts';
import { serverPrefix } from '../servers/naming.ts';
import { removeNamedServer } from '../servers/remove.ts';
import { userHostsFor } from '../servers/user-hosts.ts';
import { isVolumePolicy } from '../servers/volumes.ts';
import { serverPath } from './format.ts';
import { FORMS_JS } from './forms-script.ts';
import { type HomeServer, homePage } from './home-page.ts';
import { requirePageLogin } from './page-auth.ts';
import { errorPage } from './pages.ts';
import { profileChoices } from './profile-choices.ts';
import { pendingPage, pickerPage, spawnFailedPage } from './spawn-pages.ts';
import { viewerOf } from './viewer.ts';

const SERVER_NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

type SpawnBody = { server_name?: unknown; profile?: unknown };
type ServerParams = { user: string; server?: string };

/** '' for the default server; a valid name; anything else is a 400 with the rule. */
function serverNameFrom(v: unknown): string {
  if (v === undefined || v === '') return '';
  if (typeof v !== 'string' || !SERVER_NAME_RE.test(v)) {
    throw new HubError(
      'INVALID_NAME',
      'invalid server name: use 1-63 lowercase letters, digits, ".", "_" or "-"',
    );
  }
  return v;
}

function profileOf(row: ServerRow): string | null {
  return row.profile_name ?? null;
}

/** Home (the user's servers), the profile picker, start, stop/cancel and the spawn-pending page. */
export const serverPageRoutes: RouteModule = (app, { ctx, xsrf, secureCookies }) => {
  const settings = new SettingsRepo(ctx.db);
  const namedServers = ctx.config.spawner.serversPerUserLimit !== 1;
  const userHosts = userHostsFor(ctx.config.subdomainHost);
  // Admins hold access:servers unless the role says otherwise (JupyterHub's admin_access).
  const adminAccess = (ROLE_SCOPES.admin as readonly string[]).includes('access:servers');
  const choicesFor = (user: { name: string; groups: readonly string[] }) =>
    profileChoices(ctx.profiles, ctx.gpus, user);

  app.get('/hub/static/berth-forms.js', async (_req, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(FORMS_JS),
  );

  app.get('/hub/home', async (req, reply) => {
    const id = await requirePageLogin(ctx, req, reply);
    if (!id) return reply;
    // Stopped named servers keep their record: they are listed, with their profile and last activity.
    const rows = await ctx.servers.forUser(id.user.id, { includeStopped: true });
    const view = (name: string, row: ServerRow | undefined): HomeServer => {
      const pending = ctx.lifecycle.isPending(id.user, name);
      const active = row !== undefined && row.state !== 'stopped';
      const state = active ? row.state : pending ? 'pending' : 'stopped';
      const failure = active || pending ? undefined : ctx.lifecycle.lastFailure(id.user, name);
      const warning = ctx.culler.warning(id.user.name, name);
      const notice = active || pending ? undefined : ctx.culler.notice(id.user.name, name)?.message;
      return {
        name,
        state,
        url: serverPrefix(id.user.name, name),
        profile: row ? profileOf(row) : null,
        started: active ? new Date(row.started) : null,
        // As the API's model: a server that reported no activity yet was last active when it started.
        lastActivity: row ? new Date(row.last_activity ?? row.started) : null,
        ...(failure ? { failure } : {}),
        ...(warning || notice
          ? { cull: { ...(warning ? { warning } : {}), ...(notice ? { notice } : {}) } }
          : {}),
      };
    };
    const servers = [
      view(
        '',
        rows.find((r) => r.name === ''),
      ),
    ];
    for (const r of rows) if (r.name !== '') servers.push(view(r.name, r));
    const picker = (await choicesFor(id.user)).length > 1;
    return reply.type('text/html').send(
      homePage(viewerOf(id), xsrf.token(req, reply), {
        servers,
        namedServers,
        adminAccess,
        picker,
        volumePolicy: ctx.config.volumes.onUserDelete,
        banner: await settings.get('announcement'),
      }),
    );
  });

  /** The profile picker: GET /hub/spawn (?server_name=) and /hub/spawn/:user[/:server], as JupyterHub. */
  async function picker(
    req: FastifyRequest<{ Params: Partial<ServerParams>; Querystring: { server_name?: string } }>,
    reply: FastifyReply,
  ) {
    const id = await requirePageLogin(ctx, req, reply);
    if (!id) return reply;
    if (req.params.user !== undefined && req.params.user !== id.user.name) {
      throw new HubError('FORBIDDEN', 'you can only start your own servers here');
    }
    const server = serverNameFrom(req.params.server ?? req.query.server_name);
    const row = await ctx.servers.find(id.user.id, server);
    if (row?.state === 'running') return reply.redirect(userHosts.serverUrl(id.user.name, server), 302);
    if (row || ctx.lifecycle.isPending(id.user, server)) {
      return reply.redirect(`/hub/spawn-pending/${serverPath(id.user.name, server)}`, 302);
    }
    const choices = await choicesFor(id.user);
    if (choices.length < 2) return reply.redirect('/hub/home', 302);
    return reply.type('text/html').send(pickerPage(viewerOf(id), xsrf.token(req, reply), server, choices));
  }
  app.get('/hub/spawn', picker);
  app.get('/hub/spawn/:user', picker);
  app.get('/hub/spawn/:user/:server', picker);

  app.post('/hub/spawn', { preHandler: async (req) => xsrf.verify(req) }, async (req, reply) => {
    const id = await requirePageLogin(ctx, req, reply);
    if (!id) return reply;
    const body = (req.body ?? {}) as SpawnBody;
    const server = serverNameFrom(body.server_name);
    const choices = await choicesFor(id.user);
    const profile = typeof body.profile === 'string' && body.profile !== '' ? body.profile : undefined;
    // With a choice to make, the person makes it: a missing or unknown profile shows the picker again.
    const mustChoose = choices.length > 1 && profile === undefined;
    if (mustChoose || (profile !== undefined && !choices.some((c) => c.name === profile))) {
      return reply
        .code(400)
        .type('text/html')
        .send(
          pickerPage(
            viewerOf(id),
            xsrf.token(req, reply),
            server,
            choices,
            'Choose one of the profiles below.',
          ),
        );
    }
    // An OIDC user whose access token expired is re-checked at the IdP first (refresh token).
    const recheck = await ctx.login.recheck(id.user);
    if (!recheck.ok) {
      if (recheck.reason === 'unavailable') {
        return reply
          .code(503)
          .type('text/html')
          .send(
            errorPage(503, 'The login service is unavailable right now. Please try again in a few minutes.'),
          );
      }
      if (id.sessionId) await ctx.sessions.delete(id.sessionId);
      clearSessionCookie(reply, secureCookies);
      return reply.redirect('/hub/login', 303);
    }
    const out = await ctx.lifecycle.start(recheck.user, server, profile === undefined ? {} : { profile });
    if (out.status === 'failed')
      return reply.redirect(`/hub/spawn-pending/${serverPath(id.user.name, server)}`, 303);
    if (out.status === 'refused') {
      if (out.retryAfterSeconds !== undefined) reply.header('retry-after', String(out.retryAfterSeconds));
      return reply
        .code(out.code === 'USER_SERVER_LIMIT' ? 400 : 429)
        .type('text/html')
        .send(errorPage(out.code === 'USER_SERVER_LIMIT' ? 400 : 429, out.message));
    }
    return reply.redirect(`/hub/spawn-pending/${serverPath(id.user.name, server)}`, 303);
  });

  /** Stop a server, or cancel its start. */
  app.post('/hub/stop', { preHandler: async (req) => xsrf.verify(req) }, async (req, reply) => {
    const id = await requirePageLogin(ctx, req, reply);
    if (!id) return reply;
    const server = serverNameFrom(((req.body ?? {}) as SpawnBody).server_name);
    await ctx.lifecycle.stop(id.user, server);
    return reply.redirect('/hub/home', 303);
  });

  /**
   * Delete a named server for good (stopped first if it runs), its home volume archived, deleted or kept as the
   * form chose: the API's DELETE with {"remove": true} and ?volumes=.
   */
  app.post('/hub/delete-server', { preHandler: async (req) => xsrf.verify(req) }, async (req, reply) => {
    const id = await requirePageLogin(ctx, req, reply);
    if (!id) return reply;
    const body = (req.body ?? {}) as SpawnBody & { volumes?: unknown };
    const server = serverNameFrom(body.server_name);
    if (server === '')
      throw new HubError('BAD_REQUEST', 'your default server cannot be deleted, only stopped');
    const volumes = body.volumes === undefined || body.volumes === '' ? undefined : body.volumes;
    if (volumes !== undefined && !isVolumePolicy(volumes)) {
      throw new HubError('BAD_REQUEST', 'the home volume choice must be archive, delete or keep');
    }
    await removeNamedServer(ctx, id.user, server, volumes);
    return reply.redirect('/hub/home', 303);
  });

  async function pending(req: FastifyRequest<{ Params: ServerParams }>, reply: FastifyReply) {
    const id = await requirePageLogin(ctx, req, reply);
    if (!id) return reply;
    if (req.params.user !== id.user.name) throw new HubError('FORBIDDEN', 'not your server');
    const server = serverNameFrom(req.params.server);
    const row = await ctx.servers.find(id.user.id, server);
    if (row?.state === 'running') return reply.redirect(userHosts.serverUrl(id.user.name, server), 302);
    if (!row && !ctx.lifecycle.isPending(id.user, server)) {
      const failure = ctx.lifecycle.lastFailure(id.user, server);
      if (failure) {
        return reply
          .type('text/html')
          .send(spawnFailedPage(viewerOf(id), xsrf.token(req, reply), server, failure));
      }
      return reply.redirect('/hub/home', 302);
    }
    return reply.type('text/html').send(pendingPage(viewerOf(id), xsrf.token(req, reply), server, req.url));
  }
  app.get('/hub/spawn-pending/:user', pending);
  app.get('/hub/spawn-pending/:user/:server', pending);
};

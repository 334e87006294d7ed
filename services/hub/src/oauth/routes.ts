import type { FastifyRequest } from 'fastify';
import { auditServerAccess } from '../audit/events.ts';
import { refuseTokenInUrl, sessionIdentity } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { errorPage } from '../web/pages.ts';
import type { AuthorizeRequest } from './provider.ts';

const str = { type: 'string', maxLength: 2048 } as const;
const authorizeQuery = {
  type: 'object',
  properties: {
    client_id: str,
    redirect_uri: str,
    response_type: str,
    state: str,
    scope: str,
    code_challenge: str,
    code_challenge_method: str,
  },
} as const;

export const oauthRoutes: RouteModule = (app, { ctx }) => {
  app.get(
    '/hub/api/oauth2/authorize',
    { schema: { querystring: authorizeQuery } },
    async (req: FastifyRequest<{ Querystring: AuthorizeRequest }>, reply) => {
      refuseTokenInUrl(req);
      const bad = await ctx.oauth.checkClient(req.query);
      if (bad && !bad.ok) {
        return reply
          .code(bad.status)
          .type('text/html')
          .send(errorPage(bad.status, `OAuth error: ${bad.message}`));
      }
      const id = await sessionIdentity(ctx, req);
      if (!id) {
        return reply.redirect(`/hub/login?next=${encodeURIComponent(req.url)}`, 302);
      }
      const out = await ctx.oauth.authorize(req.query, id.user, id.scopes, id.sessionId);
      if (!out.ok) return reply.code(out.status).type('text/html').send(errorPage(out.status, out.message));
      await auditServerAccess(ctx, req, id.user.name, req.query.client_id);
      return reply.redirect(out.redirect, 302);
    },
  );

  app.post('/hub/api/oauth2/token', async (req, reply) => {
    const ct = req.headers['content-type'] ?? '';
    const form = (req.body ?? {}) as Record<string, unknown>;
    if (!ct.startsWith('application/x-www-form-urlencoded') || typeof form !== 'object') {
      return reply
        .code(400)
        .send({ status: 400, error: 'invalid_request', message: 'expected a form-encoded body' });
    }
    const fields: Record<string, string | undefined> = {};
    for (const k of ['grant_type', 'client_id', 'client_secret', 'code', 'redirect_uri', 'code_verifier']) {
      const v = form[k];
      fields[k] = typeof v === 'string' ? v : undefined;
    }
    const out = await ctx.oauth.exchange(fields);
    reply.header('cache-control', 'no-store');
    if (!out.ok) {
      return reply.code(out.status).send({ status: out.status, error: out.error, message: out.message });
    }
    return reply.send(out.body);
  });
};

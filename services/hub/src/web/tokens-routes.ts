import type { RouteModule } from '../http/route-deps.ts';
import { requirePageLogin } from './page-auth.ts';
import { tokensPage } from './tokens-page.ts';
import { viewerOf } from './viewer.ts';

/** `/hub/token`: create (through the REST API, shown once), list with last use, revoke. */
export const tokensPageRoutes: RouteModule = (app, { ctx, xsrf }) => {
  app.get('/hub/token', async (req, reply) => {
    const id = await requirePageLogin(ctx, req, reply);
    if (!id) return reply;
    const tokens = await ctx.tokens.listForUser(id.user.id);
    return reply.type('text/html').send(tokensPage(viewerOf(id), xsrf.token(req, reply), tokens));
  });
};

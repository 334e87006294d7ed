import { announcementRoutes } from '../api/announcement.ts';
import { invitationsApiRoutes } from '../api/invitations.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { accountPageRoutes } from './account-routes.ts';
import { adminPageRoutes } from './admin-routes.ts';
import { serverPageRoutes } from './server-routes.ts';
import { tokensPageRoutes } from './tokens-routes.ts';

/**
 * The signed-in pages (home and spawn, tokens, admin) and the announcement API they use. Login and the /user
 * fallback live in routes.ts.
 */
export const uiRoutes: RouteModule = (app, deps) => {
  serverPageRoutes(app, deps);
  tokensPageRoutes(app, deps);
  adminPageRoutes(app, deps);
  announcementRoutes(app, deps);
  accountPageRoutes(app, deps);
  invitationsApiRoutes(app, deps);
};

import type { FastifyRequest } from 'fastify';
import { SettingsRepo } from '../db/settings-repo.ts';
import { apiIdentity, requireScope } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';

const putSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['message'],
  properties: { message: { type: 'string', maxLength: 500 } },
} as const;

/**
 * `GET /hub/api/announcement`: the banner shown on the login and home pages (public, like those pages).
 * `PUT /hub/api/announcement` `{"message": "…"}`: set it at run time (unfiltered `admin:users`); "" removes it.
 */
export const announcementRoutes: RouteModule = (app, { ctx, xsrf }) => {
  const settings = new SettingsRepo(ctx.db);

  app.get('/hub/api/announcement', async () => {
    const current = await settings.getWithMeta('announcement');
    return {
      message: current?.value ?? '',
      updated: current ? current.updated.toISOString() : null,
    };
  });

  app.put(
    '/hub/api/announcement',
    { schema: { body: putSchema } },
    async (req: FastifyRequest<{ Body: { message: string } }>) => {
      const id = await apiIdentity(ctx, req, xsrf);
      requireScope(id, 'admin:users');
      // Line breaks and surrounding spaces are not kept: the banner is one short line of text.
      const message = req.body.message.replace(/\s+/g, ' ').trim();
      await settings.set('announcement', message, id.user.name);
      ctx.log.info({ by: id.user.name, length: message.length }, 'announcement set');
      return { message };
    },
  );
};

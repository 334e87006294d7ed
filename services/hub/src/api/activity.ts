import type { FastifyRequest } from 'fastify';
import { HubError } from '../errors.ts';
import { apiCaller, requireScope } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { checkUserName } from './validate.ts';

const isoDate = { type: 'string', maxLength: 64 } as const;
const bodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    last_activity: isoDate,
    servers: {
      type: 'object',
      maxProperties: 100,
      additionalProperties: {
        type: 'object',
        required: ['last_activity'],
        properties: { last_activity: isoDate },
      },
    },
  },
} as const;

type Body = { last_activity?: string; servers?: Record<string, { last_activity: string }> };

function parseWhen(v: string, now: Date): Date {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new HubError('INVALID_BODY', `invalid timestamp: ${v.slice(0, 64)}`);
  if (d.getTime() > now.getTime() + 3600_000) {
    throw new HubError('INVALID_BODY', 'activity timestamp is more than an hour in the future');
  }
  return d;
}

/** `POST /hub/api/users/:name/activity`, as single-user servers send it every few minutes. */
export const activityRoutes: RouteModule = (app, { ctx, xsrf }) => {
  app.post(
    '/hub/api/users/:name/activity',
    { schema: { body: bodySchema } },
    async (req: FastifyRequest<{ Params: { name: string }; Body: Body | undefined }>, reply) => {
      const id = await apiCaller(ctx, req, xsrf);
      const name = checkUserName(req.params.name);
      requireScope(id, 'users:activity', { user: name });
      const user = await ctx.users.byName(name);
      if (!user) throw new HubError('USER_NOT_FOUND', `no such user: ${name}`);
      const body = req.body ?? {};
      if (body.last_activity === undefined && body.servers === undefined) {
        throw new HubError('INVALID_BODY', 'body needs last_activity or servers');
      }
      const now = new Date();
      const updates: [number, Date][] = [];
      for (const [serverName, v] of Object.entries(body.servers ?? {})) {
        // As JupyterHub: any server the user has, a stopped one too (its last report may arrive as it stops).
        const row = await ctx.servers.record(user.id, serverName);
        if (!row) throw new HubError('INVALID_BODY', `no such server: ${serverName.slice(0, 64)}`);
        updates.push([row.id, parseWhen(v.last_activity, now)]);
      }
      const userWhen = body.last_activity !== undefined ? parseWhen(body.last_activity, now) : undefined;
      for (const [sid, when] of updates) await ctx.servers.touch(sid, when);
      const latest = [userWhen, ...updates.map(([, w]) => w)].filter((d): d is Date => d !== undefined);
      if (latest.length)
        await ctx.users.touch(user.id, new Date(Math.max(...latest.map((d) => d.getTime()))));
      return reply.code(200).send();
    },
  );
};

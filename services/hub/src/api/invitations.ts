import type { FastifyRequest } from 'fastify';
import { createInvitation, MAX_INVITATION_SECONDS } from '../accounts/invitations.ts';
import { InvitationsRepo } from '../accounts/invitations-repo.ts';
import { actorName } from '../authz/services.ts';
import { HubError } from '../errors.ts';
import { apiCaller, requireScope } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';

const createSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['username'],
  properties: {
    username: { type: 'string', maxLength: 300 },
    admin: { type: 'boolean' },
    expires_in: { type: 'integer', minimum: 1, maximum: MAX_INVITATION_SECONDS },
  },
} as const;

type CreateReq = FastifyRequest<{ Body: { username: string; admin?: boolean; expires_in?: number } }>;

/**
 * `POST /hub/api/invitations` (scope `admin:users` on that user): a single-use, expiring link with which a person
 * sets the password of a new local account. The link is in the answer once; only its hash is stored.
 */
export const invitationsApiRoutes: RouteModule = (app, { ctx, xsrf }) => {
  const invitations = new InvitationsRepo(ctx.db);
  app.post('/hub/api/invitations', { schema: { body: createSchema } }, async (req: CreateReq, reply) => {
    const caller = await apiCaller(ctx, req, xsrf);
    requireScope(caller, 'admin:users', { user: req.body.username });
    // As on POST /users: only an admin acting with unfiltered admin:users may make an admin.
    if (req.body.admin === true) {
      if (caller.via === 'service' || !caller.user.admin) {
        throw new HubError('FORBIDDEN', 'only an admin can invite an admin');
      }
      requireScope(caller, 'admin:users');
    }
    const inv = await createInvitation(
      {
        invitations,
        users: ctx.users,
        publicUrl: ctx.config.publicUrl,
        localEnabled: ctx.config.auth.authenticators.includes('local'),
      },
      {
        username: req.body.username,
        ...(req.body.admin !== undefined ? { admin: req.body.admin } : {}),
        ...(req.body.expires_in !== undefined ? { expiresInSeconds: req.body.expires_in } : {}),
        createdBy: actorName(caller),
      },
    );
    return reply.code(201).send({
      username: inv.username,
      admin: inv.admin,
      url: inv.url,
      expires_at: inv.expiresAt.toISOString(),
    });
  });
};

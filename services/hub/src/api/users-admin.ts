import type { FastifyRequest } from 'fastify';
import { collectionFilter } from '../authz/collection-filter.ts';
import { actorName, type Caller } from '../authz/services.ts';
import { AccessRepo } from '../db/access-repo.ts';
import type { ServerRow, UserRow } from '../db/schema.ts';
import type { UserListOptions } from '../db/users-repo.ts';
import { HubError } from '../errors.ts';
import { apiCaller, requireScope } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { userModel } from './models.ts';
import { includeStoppedServers, pageFromQuery, paginated, wantsPagination } from './pagination.ts';
import { scopedUserModel, userModelViewer } from './scoped-model.ts';
import { checkUserName } from './validate.ts';
import { volumePolicyOverride } from './volume-query.ts';

const createOneSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { admin: { type: 'boolean' } },
} as const;

const createManySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['usernames'],
  properties: {
    usernames: { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', maxLength: 300 } },
    admin: { type: 'boolean' },
  },
} as const;

const patchSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    admin: { type: 'boolean' },
    name: { type: 'string', maxLength: 300 },
    blocked: { type: 'boolean' },
  },
} as const;

type PatchBody = { admin?: boolean; name?: string; blocked?: boolean };

/** A bodiless POST or PATCH means `{}`, as clients send them; any body present is validated as usual. */
const emptyBodyIsObject = async (req: { body: unknown }) => {
  if (req.body === undefined || req.body === null) req.body = {};
};

type NameReq<B = undefined> = FastifyRequest<{ Params: { name: string }; Body: B }>;

/** `state`, `name_filter` and `sort` of `GET /users`, as JupyterHub reads them; anything else is a 400. */
function listOptions(query: unknown): UserListOptions {
  const q = (query ?? {}) as Record<string, unknown>;
  const one = (k: string): string | undefined => {
    const v = q[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new HubError('BAD_REQUEST', `${k} must be given once`);
    return v;
  };
  const state = one('state');
  if (state !== undefined && !['active', 'inactive', 'ready'].includes(state)) {
    throw new HubError('BAD_REQUEST', `Unrecognized state filter: ${JSON.stringify(state.slice(0, 32))}`);
  }
  const nameFilter = one('name_filter');
  if (nameFilter !== undefined && nameFilter.length > 300)
    throw new HubError('BAD_REQUEST', 'name_filter is too long');
  const sortParam = one('sort') ?? 'id';
  const descending = sortParam.startsWith('-');
  const sort = descending ? sortParam.slice(1) : sortParam;
  if (!['id', 'name', 'last_activity'].includes(sort)) {
    throw new HubError(
      'BAD_REQUEST',
      "sort must be 'id', 'name', or 'last_activity' (with '-' for descending)",
    );
  }
  return {
    ...(state ? { state: state as UserListOptions['state'] } : {}),
    ...(nameFilter ? { nameFilter } : {}),
    sort: sort as UserListOptions['sort'] & string,
    descending,
  };
}

/** Only an admin, acting with unfiltered `admin:users`, may grant or take away admin. */
function requireAdminGrant(id: Caller): void {
  if (id.via === 'service' || !id.user.admin)
    throw new HubError('FORBIDDEN', 'only an admin can grant or revoke admin');
  requireScope(id, 'admin:users');
}

/** The users collection as JupyterHub serves it: list, create one or many, patch, delete. */
export const usersAdminRoutes: RouteModule = (app, { ctx, xsrf }) => {
  const access = new AccessRepo(ctx.db);
  const pendingOf = (user: UserRow, servers: readonly ServerRow[]) =>
    new Set(servers.filter((s) => ctx.lifecycle.isPending(user, s.name)).map((s) => s.name));

  const rolesOf = (user: UserRow) => ctx.roles.assignedToUser(user.name);
  /** A user's model as the caller may see it (JupyterHub filters every answer by the caller's scopes). */
  async function model(id: Caller, user: UserRow) {
    const servers = await ctx.servers.forUser(user.id);
    const full = userModel(
      user,
      servers,
      pendingOf(user, servers),
      (s) => ctx.culler.warning(user.name, s),
      rolesOf(user),
    );
    return scopedUserModel(full, id.scopes) ?? {};
  }

  /**
   * Block or unblock (a Berth extension; admins with unfiltered admin:users only). Blocking ends the user's
   * sessions, revokes their API and OAuth tokens and stops their servers, so their next request fails; the
   * login pipeline refuses them from then on. A user BERTH_BLOCKED_USERS names cannot be unblocked here.
   */
  async function setBlocked(id: Caller, user: UserRow, blocked: boolean): Promise<UserRow> {
    if (id.via === 'service' || !id.user.admin)
      throw new HubError('FORBIDDEN', 'only an admin can block or unblock users');
    requireScope(id, 'admin:users');
    if (blocked && user.id === id.user.id) throw new HubError('BAD_REQUEST', 'you cannot block yourself');
    if (!blocked && ctx.config.auth.blockedUsers.includes(user.name)) {
      throw new HubError(
        'CONFLICT',
        `${user.name} is blocked by the configuration (BERTH_BLOCKED_USERS); remove them from it and restart`,
      );
    }
    await access.setBlocked(user.id, blocked);
    if (blocked) {
      const revoked = await access.revoke(user.id);
      for (const s of await ctx.servers.forUser(user.id)) await ctx.lifecycle.stop(user, s.name);
      ctx.log.info({ by: actorName(id), user: user.name, event: 'user.blocked', ...revoked }, 'user blocked');
    } else {
      ctx.log.info({ by: actorName(id), user: user.name, event: 'user.unblocked' }, 'user unblocked');
    }
    return { ...user, blocked };
  }

  async function existing(name: string): Promise<UserRow> {
    const user = await ctx.users.byName(name);
    if (!user) throw new HubError('USER_NOT_FOUND', `no such user: ${name}`);
    return user;
  }

  app.get('/hub/api/users', async (req, reply) => {
    const id = await apiCaller(ctx, req, xsrf);
    const filter = collectionFilter(id.scopes, 'list:users');
    if (!filter) throw new HubError('FORBIDDEN', 'action requires the scope list:users');
    const page = pageFromQuery(req);
    const includeStopped = includeStoppedServers(req);
    const { rows, total, servers } = await ctx.reads.usersPage(
      filter,
      page.offset,
      page.limit,
      listOptions(req.query),
      { includeStopped },
    );
    const view = userModelViewer(id.scopes);
    const items = rows.map((u) => {
      const mine = servers.get(u.id) ?? [];
      const model = userModel(u, mine, pendingOf(u, mine), (s) => ctx.culler.warning(u.name, s), rolesOf(u));
      // As JupyterHub: only the fields the caller's scopes reveal on that user (list:users alone: kind, name
      // and admin; jupyterhub-idle-culler's scopes: last_activity and servers too).
      return view(model);
    });
    const visible = items.filter((m) => m !== undefined);
    if (!wantsPagination(req)) return visible;
    reply.type('application/jupyterhub-pagination+json');
    const base = `${ctx.config.publicUrl.replace(/\/+$/, '')}/hub/api/users`;
    return paginated(visible, page, total, base, includeStopped ? { include_stopped_servers: '1' } : {});
  });

  app.post(
    '/hub/api/users',
    { schema: { body: createManySchema } },
    async (req: FastifyRequest<{ Body: { usernames: string[]; admin?: boolean } }>, reply) => {
      const id = await apiCaller(ctx, req, xsrf);
      const names = [...new Set(req.body.usernames.map(checkUserName))];
      for (const name of names) requireScope(id, 'admin:users', { user: name });
      const admin = req.body.admin ?? false;
      if (admin) requireAdminGrant(id);
      const created = await ctx.users.createMany(names, { admin });
      if (created.length === 0) throw new HubError('USER_EXISTS', `all ${names.length} users already exist`);
      ctx.log.info({ by: actorName(id), users: created.map((u) => u.name), admin }, 'users created');
      const models = created.map((u) => userModel(u, [], new Set(), undefined, rolesOf(u)));
      return reply.code(201).send(models.map((m) => scopedUserModel(m, id.scopes) ?? {}));
    },
  );

  app.post<{ Params: { name: string }; Body: { admin?: boolean } | undefined }>(
    '/hub/api/users/:name',
    { schema: { body: createOneSchema }, preValidation: emptyBodyIsObject },
    async (req: NameReq<{ admin?: boolean } | undefined>, reply) => {
      const id = await apiCaller(ctx, req, xsrf);
      const name = checkUserName(req.params.name);
      requireScope(id, 'admin:users', { user: name });
      const admin = req.body?.admin ?? false;
      if (admin) requireAdminGrant(id);
      const row = await ctx.users.create(name, { admin, passwordHash: null });
      if (!row) throw new HubError('USER_EXISTS', `user ${name} already exists`);
      ctx.log.info({ by: actorName(id), user: name, admin }, 'user created');
      const created = userModel(row, [], new Set(), undefined, rolesOf(row));
      return reply.code(201).send(scopedUserModel(created, id.scopes) ?? {});
    },
  );

  app.patch<{ Params: { name: string }; Body: PatchBody | undefined }>(
    '/hub/api/users/:name',
    { schema: { body: patchSchema }, preValidation: emptyBodyIsObject },
    async (req: NameReq<PatchBody | undefined>) => {
      const id = await apiCaller(ctx, req, xsrf);
      const name = checkUserName(req.params.name);
      requireScope(id, 'admin:users', { user: name });
      const body = req.body ?? {};
      if (body.name !== undefined && checkUserName(body.name) !== name) {
        throw new HubError('BAD_REQUEST', 'renaming users is not supported');
      }
      let user = await existing(name);
      if (body.blocked !== undefined && body.blocked !== user.blocked) {
        user = await setBlocked(id, user, body.blocked);
      }
      if (body.admin !== undefined && body.admin !== user.admin) {
        requireAdminGrant(id);
        await ctx.users.update(user.id, { admin: body.admin });
        ctx.log.info({ by: actorName(id), user: name, admin: body.admin }, 'admin flag changed');
        return model(id, { ...user, admin: body.admin });
      }
      return model(id, user);
    },
  );

  app.delete('/hub/api/users/:name', async (req: NameReq, reply) => {
    const id = await apiCaller(ctx, req, xsrf);
    const name = checkUserName(req.params.name);
    requireScope(id, 'delete:users', { user: name });
    const user = await existing(name);
    if (user.id === id.user?.id) throw new HubError('BAD_REQUEST', 'you cannot delete yourself');
    // Choosing other than the configured volume policy is for admins only (unfiltered admin:users).
    const override = volumePolicyOverride(req.query);
    if (override !== undefined) requireScope(id, 'admin:users');
    // Stop every server first (route, container, tokens).
    for (const s of await ctx.servers.forUser(user.id)) await ctx.lifecycle.stop(user, s.name);
    // Then the home volumes: archived, deleted or kept. If that fails the user stays, so nothing is lost and
    // the admin can try again.
    await ctx.volumes.onUserDeleted(name, override).catch((err: unknown) => {
      const why = err instanceof Error ? err.message : String(err);
      throw new HubError(
        'UNAVAILABLE',
        `${name} was not deleted: the home volumes could not be handled (${why})`,
      );
    });
    await ctx.users.delete(user.id);
    ctx.log.info({ by: actorName(id), user: name }, 'user deleted');
    return reply.code(204).send();
  });
};

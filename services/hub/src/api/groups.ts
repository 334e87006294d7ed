import type { FastifyRequest } from 'fastify';
import { collectionFilter } from '../authz/collection-filter.ts';
import { hasScope } from '../authz/scopes.ts';
import { actorName, type Caller } from '../authz/services.ts';
import { GROUP_NAME_RE } from '../db/groups-repo.ts';
import type { GroupRow, UserRow } from '../db/schema.ts';
import { HubError } from '../errors.ts';
import { apiCaller, requireScope } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { pageFromQuery, paginated, wantsPagination } from './pagination.ts';

const userNames = { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 300 } } as const;

const createManySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['groups'],
  properties: {
    groups: { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', maxLength: 300 } },
    users: userNames,
  },
} as const;

const createOneSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { name: { type: 'string', maxLength: 300 }, users: userNames },
} as const;

const membersSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['users'],
  properties: { users: userNames },
} as const;

const propertiesSchema = { type: 'object', maxProperties: 1000 } as const;

type NameReq<B = undefined> = FastifyRequest<{ Params: { name: string }; Body: B }>;

export function checkGroupName(name: unknown): string {
  if (typeof name !== 'string' || !GROUP_NAME_RE.test(name)) {
    throw new HubError(
      'INVALID_NAME',
      'invalid group name: use 1-255 printable characters, no "/", no leading or trailing space',
    );
  }
  return name;
}

/** A group as JupyterHub shapes it, cut to what the caller may read (its `access_map`). */
export function groupModel(
  id: Caller,
  g: GroupRow,
  users: readonly string[],
  roles: readonly string[],
): Record<string, unknown> {
  const target = { group: g.name };
  const model: Record<string, unknown> = { kind: 'group', name: g.name };
  if (hasScope(id.scopes, 'read:groups', target)) {
    model.users = users;
    model.properties = g.properties;
  }
  if (hasScope(id.scopes, 'read:roles:groups', target)) model.roles = roles;
  return model;
}

/** `/hub/api/groups…`: list, create, read, delete; membership; properties (JupyterHub's groups.py). */
export const groupsRoutes: RouteModule = (app, { ctx, xsrf }) => {
  const rolesOf = (group: string): string[] => ctx.roles?.forGroup(group) ?? [];

  async function model(id: Caller, g: GroupRow) {
    const members = (await ctx.groups.members([g.id])).get(g.id) ?? [];
    return groupModel(id, g, members, rolesOf(g.name));
  }

  async function existing(name: string): Promise<GroupRow> {
    const g = await ctx.groups.byName(name);
    if (!g) throw new HubError('NOT_FOUND', `no such group: ${name}`);
    return g;
  }

  /** Users by name, all of which must exist (JupyterHub answers 400 "No such user"). */
  async function usersNamed(names: readonly string[]): Promise<UserRow[]> {
    const out: UserRow[] = [];
    for (const n of new Set(names)) {
      const u = await ctx.users.byName(n);
      if (!u) throw new HubError('BAD_REQUEST', `no such user: ${n}`);
      out.push(u);
    }
    return out;
  }

  app.get('/hub/api/groups', async (req, reply) => {
    const id = await apiCaller(ctx, req, xsrf);
    const filter = collectionFilter(id.scopes, 'list:groups');
    // Only `!group=` filters make sense on groups; a `!user=` filter does not widen to all groups.
    if (!filter || (!filter.all && filter.groups.length === 0)) {
      throw new HubError('FORBIDDEN', 'action requires the scope list:groups');
    }
    const page = pageFromQuery(req);
    const { rows, total } = await ctx.groups.page(
      filter.all ? 'all' : filter.groups,
      page.offset,
      page.limit,
    );
    const members = await ctx.groups.members(rows.map((g) => g.id));
    const items = rows.map((g) => groupModel(id, g, members.get(g.id) ?? [], rolesOf(g.name)));
    if (!wantsPagination(req)) return items;
    reply.type('application/jupyterhub-pagination+json');
    return paginated(items, page, total, `${ctx.config.publicUrl.replace(/\/+$/, '')}/hub/api/groups`);
  });

  app.post(
    '/hub/api/groups',
    { schema: { body: createManySchema } },
    async (req: FastifyRequest<{ Body: { groups: string[]; users?: string[] } }>, reply) => {
      const id = await apiCaller(ctx, req, xsrf);
      const names = [...new Set(req.body.groups.map(checkGroupName))];
      for (const n of names) requireScope(id, 'admin:groups', { group: n });
      const members = await usersNamed(req.body.users ?? []);
      for (const n of names) {
        if (await ctx.groups.byName(n)) throw new HubError('CONFLICT', `group ${n} already exists`);
      }
      const created = await ctx.groups.create(
        names,
        members.map((u) => u.id),
      );
      if (created.length < names.length)
        throw new HubError('CONFLICT', 'a group was created at the same time');
      ctx.log.info({ by: actorName(id), groups: names, users: members.length }, 'groups created');
      const out = [];
      for (const g of created) out.push(await model(id, g));
      return reply.code(201).send(out);
    },
  );

  app.get('/hub/api/groups/:name', async (req: NameReq) => {
    const id = await apiCaller(ctx, req, xsrf);
    const name = checkGroupName(req.params.name);
    if (
      !['read:groups', 'read:groups:name', 'read:roles:groups'].some((s) =>
        hasScope(id.scopes, s, { group: name }),
      )
    ) {
      throw new HubError('FORBIDDEN', 'action requires the scope read:groups');
    }
    return model(id, await existing(name));
  });

  app.post<{ Params: { name: string }; Body: { name?: string; users?: string[] } | undefined }>(
    '/hub/api/groups/:name',
    {
      schema: { body: createOneSchema },
      preValidation: async (req) => {
        if (req.body === undefined || req.body === null) req.body = {};
      },
    },
    async (req: NameReq<{ name?: string; users?: string[] } | undefined>, reply) => {
      const id = await apiCaller(ctx, req, xsrf);
      const name = checkGroupName(req.params.name);
      requireScope(id, 'admin:groups', { group: name });
      const body = req.body ?? {};
      if (body.name !== undefined && body.name !== name) {
        throw new HubError('BAD_REQUEST', 'the name in the body differs from the one in the URL');
      }
      const members = await usersNamed(body.users ?? []);
      const [g] = await ctx.groups.create(
        [name],
        members.map((u) => u.id),
      );
      if (!g) throw new HubError('CONFLICT', `group ${name} already exists`);
      ctx.log.info({ by: actorName(id), group: name, users: members.length }, 'group created');
      return reply.code(201).send(await model(id, g));
    },
  );

  app.delete('/hub/api/groups/:name', async (req: NameReq, reply) => {
    const id = await apiCaller(ctx, req, xsrf);
    const name = checkGroupName(req.params.name);
    requireScope(id, 'delete:groups', { group: name });
    if (!(await ctx.groups.delete(name))) throw new HubError('NOT_FOUND', `no such group: ${name}`);
    ctx.log.info({ by: actorName(id), group: name }, 'group deleted');
    return reply.code(204).send();
  });

  for (const method of ['post', 'delete'] as const) {
    app[method](
      '/hub/api/groups/:name/users',
      { schema: { body: membersSchema } },
      async (req: NameReq<{ users: string[] }>) => {
        const id = await apiCaller(ctx, req, xsrf);
        const name = checkGroupName(req.params.name);
        requireScope(id, 'groups', { group: name });
        const g = await existing(name);
        const ids = (await usersNamed(req.body.users)).map((u) => u.id);
        if (method === 'post') await ctx.groups.addMembers(g.id, ids);
        else await ctx.groups.removeMembers(g.id, ids);
        ctx.log.info(
          {
            by: actorName(id),
            group: name,
            users: req.body.users,
            change: method === 'post' ? 'add' : 'remove',
          },
          'group members changed',
        );
        return model(id, g);
      },
    );
  }

  app.put(
    '/hub/api/groups/:name/properties',
    { schema: { body: propertiesSchema }, bodyLimit: 64 * 1024 },
    async (req: NameReq<Record<string, unknown>>) => {
      const id = await apiCaller(ctx, req, xsrf);
      const name = checkGroupName(req.params.name);
      requireScope(id, 'groups', { group: name });
      const g = await existing(name);
      await ctx.groups.setProperties(g.id, req.body);
      ctx.log.info({ by: actorName(id), group: name }, 'group properties set');
      return model(id, { ...g, properties: req.body });
    },
  );
};

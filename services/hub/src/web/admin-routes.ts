import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditOutcome } from '../audit/audit-log.ts';
import { csvRows } from '../audit/csv.ts';
import type { UsageBy } from '../audit/usage.ts';
import type { Identity } from '../auth/identity.ts';
import { collectionFilter } from '../authz/collection-filter.ts';
import { hasScope } from '../authz/scopes.ts';
import type { ServerRow } from '../db/schema.ts';
import { SettingsRepo } from '../db/settings-repo.ts';
import { HubError } from '../errors.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { type AdminSection, adminSections } from './admin-nav.ts';
import {
  type AdminServerRow,
  adminIndexPage,
  announcementPage,
  groupsAdminPage,
  serversAdminPage,
  usersAdminPage,
} from './admin-pages.ts';
import { profilesAdminPage } from './admin-profiles.ts';
import { searchUsers } from './admin-queries.ts';
import { auditPage, usagePage } from './admin-reports.ts';
import { requirePageLogin } from './page-auth.ts';
import { viewerOf } from './viewer.ts';

const PAGE = 25;

type ListQuery = { q?: string; offset?: string };
type AuditQs = { offset?: string; action?: string; actor?: string; user?: string; outcome?: string };
type UsageQs = { from?: string; to?: string; by?: string };

const DAY = 24 * 3600 * 1000;

/** Whole UTC days, both included: `to` is the start of the day after the last one. */
function usageRange(q: UsageQs): { from: Date; to: Date; lastDay: Date; by: UsageBy } {
  const day = (v: string | undefined, key: string): Date | undefined => {
    if (v === undefined || v === '') return undefined;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) {
      throw new HubError('BAD_REQUEST', `${key} must be a date (YYYY-MM-DD)`);
    }
    return new Date(`${v}T00:00:00Z`);
  };
  const today = new Date(new Date().toISOString().slice(0, 10));
  const lastDay = day(q.to, 'to') ?? today;
  const from = day(q.from, 'from') ?? new Date(lastDay.getTime() - 29 * DAY);
  if (from.getTime() > lastDay.getTime()) throw new HubError('BAD_REQUEST', 'from must not be after to');
  const by = (['user', 'group', 'profile'] as const).find((b) => b === q.by) ?? 'user';
  return { from, to: new Date(lastDay.getTime() + DAY), lastDay, by };
}

function listQuery(req: FastifyRequest<{ Querystring: ListQuery }>): { q: string; offset: number } {
  const q = typeof req.query.q === 'string' ? req.query.q.trim().slice(0, 64) : '';
  const raw = req.query.offset;
  if (raw !== undefined && !/^\d{1,9}$/.test(raw))
    throw new HubError('BAD_REQUEST', 'offset must be a number');
  return { q, offset: raw === undefined ? 0 : Number(raw) };
}

function profileOf(row: ServerRow): string | null {
  return row.profile_name ?? null;
}

/**
 * The admin pages. Each shows only what the viewer's scopes allow (the same filters the REST API applies), and
 * every action on them is a call to the REST API (berth-forms.js), which checks the scopes again.
 */
export const adminPageRoutes: RouteModule = (app, { ctx, xsrf }) => {
  const settings = new SettingsRepo(ctx.db);

  /** The viewer and their sections, or a 403 when `href` is not one of them. */
  async function enter(
    req: FastifyRequest,
    reply: FastifyReply,
    href: string | undefined,
  ): Promise<{ id: Identity; sections: AdminSection[] } | undefined> {
    const id = await requirePageLogin(ctx, req, reply);
    if (!id) return undefined;
    const sections = adminSections(id.scopes, id.user.name);
    if (sections.length === 0 || (href !== undefined && !sections.some((s) => s.href === href))) {
      throw new HubError('FORBIDDEN', 'You may not see this page.');
    }
    return { id, sections };
  }

  app.get('/hub/admin', async (req, reply) => {
    const e = await enter(req, reply, undefined);
    if (!e) return reply;
    return reply.type('text/html').send(adminIndexPage(viewerOf(e.id), xsrf.token(req, reply), e.sections));
  });

  app.get('/hub/admin/users', async (req: FastifyRequest<{ Querystring: ListQuery }>, reply) => {
    const e = await enter(req, reply, '/hub/admin/users');
    if (!e) return reply;
    const { id } = e;
    const { q, offset } = listQuery(req);
    const filter = collectionFilter(id.scopes, 'read:users');
    if (!filter) throw new HubError('FORBIDDEN', 'you may not see users');
    const { rows, total } = await searchUsers(ctx.db, filter, q, offset, PAGE);
    const servers = await ctx.servers.forUsers(rows.map((u) => u.id));
    const canManage = hasScope(id.scopes, 'admin:users');
    return reply.type('text/html').send(
      usersAdminPage(viewerOf(id), xsrf.token(req, reply), e.sections, {
        users: rows.map((u) => ({
          name: u.name,
          admin: u.admin,
          blocked: u.blocked,
          groups: u.groups,
          created: new Date(u.created),
          lastActivity: u.last_activity ? new Date(u.last_activity) : null,
          running: (servers.get(u.id) ?? []).length,
        })),
        q,
        offset,
        limit: PAGE,
        total,
        canManage,
        canGrantAdmin: canManage && id.user.admin,
        volumePolicy: ctx.config.volumes.onUserDelete,
      }),
    );
  });

  app.get('/hub/admin/servers', async (req: FastifyRequest<{ Querystring: ListQuery }>, reply) => {
    const e = await enter(req, reply, '/hub/admin/servers');
    if (!e) return reply;
    const { id } = e;
    const { q, offset } = listQuery(req);
    const filter = collectionFilter(id.scopes, 'read:servers');
    if (!filter) throw new HubError('FORBIDDEN', 'you may not see servers');
    const { rows, total } = await searchUsers(ctx.db, filter, q, offset, PAGE);
    const byUser = await ctx.servers.forUsers(rows.map((u) => u.id));
    const list: AdminServerRow[] = [];
    for (const u of rows) {
      const mine = byUser.get(u.id) ?? [];
      const names = ['', ...mine.filter((s) => s.name !== '').map((s) => s.name)];
      for (const name of names) {
        const row = mine.find((s) => s.name === name);
        const target = { user: u.name, server: `${u.name}/${name}` };
        const pending = ctx.lifecycle.isPending(u, name);
        const state = row
          ? row.state === 'running'
            ? 'running'
            : row.state
          : pending
            ? 'pending'
            : 'stopped';
        list.push({
          user: u.name,
          name,
          state,
          profile: row ? profileOf(row) : null,
          started: row ? new Date(row.started) : null,
          lastActivity: row?.last_activity ? new Date(row.last_activity) : null,
          canStart: hasScope(id.scopes, 'servers', target),
          canStop: hasScope(id.scopes, 'servers', target),
        });
      }
    }
    return reply.type('text/html').send(
      serversAdminPage(viewerOf(id), xsrf.token(req, reply), e.sections, {
        servers: list,
        offset,
        limit: PAGE,
        total,
        q,
      }),
    );
  });

  app.get('/hub/admin/groups', async (req: FastifyRequest<{ Querystring: ListQuery }>, reply) => {
    const e = await enter(req, reply, '/hub/admin/groups');
    if (!e) return reply;
    const { offset } = listQuery(req);
    const { rows, total } = await ctx.groups.page('all', offset, PAGE);
    const members = await ctx.groups.members(rows.map((g) => g.id));
    return reply.type('text/html').send(
      groupsAdminPage(viewerOf(e.id), xsrf.token(req, reply), e.sections, {
        groups: rows.map((g) => ({ name: g.name, members: members.get(g.id) ?? [] })),
        offset,
        limit: PAGE,
        total,
        canManage: hasScope(e.id.scopes, 'admin:groups'),
      }),
    );
  });

  app.get('/hub/admin/audit', async (req: FastifyRequest<{ Querystring: AuditQs }>, reply) => {
    const e = await enter(req, reply, '/hub/admin/audit');
    if (!e) return reply;
    const { offset } = listQuery(req);
    const text = (v: unknown, max: number) => (typeof v === 'string' ? v.trim().slice(0, max) : '');
    const action = text(req.query.action, 100);
    if (action && !/^[a-z_.]+$/.test(action))
      throw new HubError('BAD_REQUEST', 'action: lowercase letters, "." and "_"');
    const outcome = (['success', 'failure', 'denied'] as const).find((o) => o === req.query.outcome) ?? '';
    const filters = {
      action,
      actor: text(req.query.actor, 300),
      user: text(req.query.user, 300),
      outcome,
    } as const;
    const { items, total } = await ctx.audit.list({
      offset,
      limit: 50,
      ...(filters.action ? { action: filters.action } : {}),
      ...(filters.actor ? { actor: filters.actor } : {}),
      ...(filters.user ? { targetUser: filters.user } : {}),
      ...(filters.outcome ? { outcome: filters.outcome as AuditOutcome } : {}),
    });
    return reply.type('text/html').send(
      auditPage(viewerOf(e.id), xsrf.token(req, reply), e.sections, {
        entries: items,
        filters,
        offset,
        limit: 50,
        total,
      }),
    );
  });

  app.get('/hub/admin/usage', async (req: FastifyRequest<{ Querystring: UsageQs }>, reply) => {
    const e = await enter(req, reply, '/hub/admin/usage');
    if (!e) return reply;
    const r = usageRange(req.query);
    const rows = await ctx.usage.report(r.by, r.from, r.to);
    return reply.type('text/html').send(
      usagePage(viewerOf(e.id), xsrf.token(req, reply), e.sections, {
        rows,
        by: r.by,
        from: r.from,
        to: r.lastDay,
      }),
    );
  });

  /** The report as CSV for a download link (a page route: a link cannot carry the API's XSRF header). */
  app.get('/hub/admin/usage.csv', async (req: FastifyRequest<{ Querystring: UsageQs }>, reply) => {
    const e = await enter(req, reply, '/hub/admin/usage');
    if (!e) return reply;
    const r = usageRange(req.query);
    const rows = await ctx.usage.report(r.by, r.from, r.to);
    const name = `berth-usage-by-${r.by}-${r.from.toISOString().slice(0, 10)}-${r.lastDay.toISOString().slice(0, 10)}.csv`;
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${name}"`)
      .send(
        csvRows(
          [r.by, 'server_hours', 'servers', 'from', 'to'],
          rows.map((x) => [x.key, x.server_hours, x.servers, r.from.toISOString(), r.to.toISOString()]),
        ),
      );
  });

  app.get('/hub/admin/profiles', async (req, reply) => {
    const e = await enter(req, reply, '/hub/admin/profiles');
    if (!e) return reply;
    const versions = await ctx.profiles.list();
    const probes = await ctx.profiles.probes([...new Set(versions.map((v) => v.spec.image))]);
    const rows = versions
      .map((v) => ({
        version: v,
        probe: probes.get(v.spec.image),
        isDefault: v.name === ctx.profiles.defaultName,
      }))
      .sort(
        (a, b) =>
          Number(a.version.retired) - Number(b.version.retired) ||
          a.version.name.localeCompare(b.version.name),
      );
    return reply
      .type('text/html')
      .send(profilesAdminPage(viewerOf(e.id), xsrf.token(req, reply), e.sections, rows));
  });

  app.get('/hub/admin/announcement', async (req, reply) => {
    const e = await enter(req, reply, '/hub/admin/announcement');
    if (!e) return reply;
    return reply
      .type('text/html')
      .send(
        announcementPage(
          viewerOf(e.id),
          xsrf.token(req, reply),
          e.sections,
          await settings.getWithMeta('announcement'),
        ),
      );
  });
};

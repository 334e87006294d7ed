import type { FastifyReply, FastifyRequest } from 'fastify';
import { apiAction } from '../audit/api-actions.ts';
import type { AuditOutcome } from '../audit/audit-log.ts';
import { csvRows } from '../audit/csv.ts';
import type { UsageBy } from '../audit/usage.ts';
import { actorName } from '../authz/services.ts';
import { HubError } from '../errors.ts';
import { apiCaller, requireScope } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { pageFromQuery, paginated, wantsPagination } from './pagination.ts';

const auditQuery = {
  type: 'object',
  properties: {
    offset: { type: 'string', pattern: '^[0-9]{1,9}$', description: 'integer ≥ 0' },
    limit: { type: 'string', pattern: '^[0-9]{1,9}$', description: 'integer ≥ 1; above 200 means 200' },
    action: {
      type: 'string',
      pattern: '^[a-z_.]{1,100}$',
      description: 'an action (token.create), or a prefix ending in "." (token.)',
    },
    // No U+0000: Postgres text cannot hold it, so a comparison with it would fail (500) instead of matching nothing.
    actor: {
      type: 'string',
      minLength: 1,
      maxLength: 300,
      pattern: '^[^\\u0000]+$',
      description: 'who acted: a user name, or service:<name>',
    },
    user: {
      type: 'string',
      minLength: 1,
      maxLength: 300,
      pattern: '^[^\\u0000]+$',
      description: 'the user acted on',
    },
    outcome: { type: 'string', enum: ['success', 'failure', 'denied'] },
    since: { type: 'string', maxLength: 40, description: 'ISO 8601 date or date-time (included)' },
    until: { type: 'string', maxLength: 40, description: 'ISO 8601 date or date-time (excluded)' },
  },
} as const;

const usageQuery = {
  type: 'object',
  properties: {
    from: { type: 'string', maxLength: 40, description: 'ISO 8601; default 30 days before to' },
    to: { type: 'string', maxLength: 40, description: 'ISO 8601 (excluded); default now' },
    by: { type: 'string', enum: ['user', 'group', 'profile'], description: 'default user' },
    format: { type: 'string', enum: ['json', 'csv'], description: 'csv: the same as Accept: text/csv' },
  },
} as const;

type AuditQs = { offset?: string; limit?: string; action?: string; actor?: string; user?: string } & {
  outcome?: AuditOutcome;
  since?: string;
  until?: string;
};
type UsageQs = { from?: string; to?: string; by?: UsageBy; format?: 'json' | 'csv' };

function date(v: string | undefined, key: string): Date | undefined {
  if (v === undefined) return undefined;
  // ISO 8601 dates and date-times only: `Date` accepts far more than it should.
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) {
    throw new HubError('BAD_REQUEST', `${key} must be an ISO 8601 date or date-time`);
  }
  const d = new Date(v);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1970 || d.getUTCFullYear() > 9999) {
    throw new HubError('BAD_REQUEST', `${key} is not a valid date`);
  }
  return d;
}

/**
 * Berth extensions: `GET /hub/api/audit` (scope `read:audit`) and `GET /hub/api/usage` (scope `read:usage`),
 * both held by admins only by default; and the hook that writes every state-changing REST API call to the
 * audit log.
 */
export const auditRoutes: RouteModule = (app, { ctx, xsrf }) => {
  // onSend, not onResponse: the entry is written before the caller sees the answer, so a client that acts and
  // then reads the log finds its action there.
  app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const id = req.berthIdentity;
    if (!id) return payload;
    const s = reply.statusCode;
    const outcome: AuditOutcome | undefined = s < 300 ? 'success' : s === 403 ? 'denied' : undefined;
    if (!outcome) return payload;
    const a = apiAction(req.method, req.routeOptions.url, (req.params ?? {}) as Record<string, string>);
    if (!a) return payload;
    const body = req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : undefined;
    await ctx.audit.record({
      action: a.action,
      outcome,
      actor: actorName(id),
      targetUser: a.targetUser,
      target: a.target,
      ip: req.ip,
      detail: { method: req.method, path: req.routeOptions.url, status: s, ...(body ? { body } : {}) },
    });
    return payload;
  });

  app.get('/hub/api/audit', { schema: { querystring: auditQuery } }, async (req, reply) => {
    const id = await apiCaller(ctx, req, xsrf);
    requireScope(id, 'read:audit');
    const q = req.query as AuditQs;
    const page = pageFromQuery(req);
    const since = date(q.since, 'since');
    const until = date(q.until, 'until');
    const { items, total } = await ctx.audit.list({
      ...page,
      ...(q.action ? { action: q.action } : {}),
      ...(q.actor ? { actor: q.actor } : {}),
      ...(q.user ? { targetUser: q.user } : {}),
      ...(q.outcome ? { outcome: q.outcome } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
    });
    if (wantsPagination(req)) return reply.send(paginated(items, page, total, '/hub/api/audit'));
    return reply.send(items);
  });

  app.get('/hub/api/usage', { schema: { querystring: usageQuery } }, async (req, reply) => {
    const id = await apiCaller(ctx, req, xsrf);
    requireScope(id, 'read:usage');
    const q = req.query as UsageQs;
    const to = date(q.to, 'to') ?? new Date();
    const from = date(q.from, 'from') ?? new Date(to.getTime() - 30 * 24 * 3600 * 1000);
    if (from.getTime() >= to.getTime()) throw new HubError('BAD_REQUEST', 'from must be before to');
    const by: UsageBy = q.by ?? 'user';
    const rows = await ctx.usage.report(by, from, to);
    const csv =
      q.format === 'csv' || (q.format === undefined && (req.headers.accept ?? '').includes('text/csv'));
    if (csv) {
      const name = `berth-usage-by-${by}-${from.toISOString().slice(0, 10)}-${to.toISOString().slice(0, 10)}.csv`;
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(
          csvRows(
            [by, 'server_hours', 'servers', 'from', 'to'],
            rows.map((r) => [r.key, r.server_hours, r.servers, from.toISOString(), to.toISOString()]),
          ),
        );
    }
    return reply.send({ from: from.toISOString(), to: to.toISOString(), by, rows });
  });
};

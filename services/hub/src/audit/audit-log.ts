import type { ColumnType, Generated, Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../db/schema.ts';

/**
 * The audit log: who did what to whom, and when. A small contract so the hub's parts record events without
 * knowing where they go. `record` never throws: an audit write that fails is logged as an error and the
 * request carries on (the action itself already happened).
 */
export interface AuditLog {
  record(event: AuditEvent): Promise<void>;
  list(query: AuditQuery): Promise<{ readonly items: AuditEntry[]; readonly total: number }>;
}

export type AuditOutcome = 'success' | 'failure' | 'denied';

export interface AuditEvent {
  /** `login`, `logout`, `server.access`, or `<resource>.<verb>` for REST API changes (e.g. `token.create`). */
  readonly action: string;
  readonly outcome?: AuditOutcome;
  /** The user (or `cli`, or `service:<name>`) who acted; null when unknown (a failed login). */
  readonly actor?: string | null;
  /** The user the action was about. */
  readonly targetUser?: string | null;
  /** The object acted on, e.g. `server alice/`, `group physics`, `token a12`. */
  readonly target?: string | null;
  readonly ip?: string | null;
  /** Extra facts; keys that look like secrets are dropped before storing (see `redact`). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface AuditEntry {
  readonly id: number;
  readonly at: string;
  readonly action: string;
  readonly outcome: AuditOutcome;
  readonly actor: string | null;
  /** What `actor` is: a user (their name), a service (`service:<name>`, BERTH_RBAC_FILE), or null when unknown. */
  readonly actor_kind: 'user' | 'service' | null;
  readonly target_user: string | null;
  readonly target: string | null;
  readonly ip: string | null;
  readonly detail: Record<string, unknown>;
}

export interface AuditQuery {
  readonly offset: number;
  readonly limit: number;
  /** Exact action, or a prefix ending in `.` (`token.` matches `token.create` and `token.delete`). */
  readonly action?: string;
  readonly actor?: string;
  readonly targetUser?: string;
  readonly outcome?: AuditOutcome;
  readonly since?: Date;
  readonly until?: Date;
}

const SECRET_KEY = /pass(word)?|secret|token$|^token|auth_state|cookie|authorization/i;
const MAX_DETAIL_CHARS = 4000;

/** A copy of `detail` without secret-looking keys (at any depth), cut to a bounded size. */
export function redact(detail: unknown, depth = 0): unknown {
  if (depth > 4) return '[deep]';
  if (Array.isArray(detail)) return detail.slice(0, 50).map((v) => redact(v, depth + 1));
  if (detail && typeof detail === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(detail)) {
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
      out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
    }
    return out;
  }
  if (typeof detail === 'string' && detail.length > 500) return `${detail.slice(0, 500)}…`;
  return detail;
}

interface AuditLogTable {
  id: Generated<string>;
  at: ColumnType<Date, Date | undefined, never>;
  action: string;
  outcome: ColumnType<string, string | undefined, string>;
  actor: string | null;
  target_user: string | null;
  target: string | null;
  ip: string | null;
  detail: ColumnType<unknown, string, string>;
}

/** User names cannot hold `:` (USERNAME_RE), so the `service:` prefix alone tells a service from a user. */
export const actorKind = (actor: string | null): AuditEntry['actor_kind'] =>
  actor === null ? null : actor.startsWith('service:') ? 'service' : 'user';

/** The audit log in Postgres (`audit_log`, migration 0006). */
export class PostgresAuditLog implements AuditLog {
  readonly #db: Kysely<Database & { audit_log: AuditLogTable }>;
  readonly #log: Logger;

  constructor(db: Kysely<Database>, log: Logger) {
    this.#db = db.withTables<{ audit_log: AuditLogTable }>();
    this.#log = log;
  }

  async record(e: AuditEvent): Promise<void> {
    let detail = JSON.stringify(redact(e.detail ?? {}));
    if (detail.length > MAX_DETAIL_CHARS) detail = JSON.stringify({ truncated: true });
    try {
      await this.#db
        .insertInto('audit_log')
        .values({
          action: e.action.slice(0, 100),
          outcome: e.outcome ?? 'success',
          actor: e.actor?.slice(0, 300) ?? null,
          target_user: e.targetUser?.slice(0, 300) ?? null,
          target: e.target?.slice(0, 300) ?? null,
          ip: e.ip ?? null,
          detail,
        })
        .execute();
    } catch (err) {
      this.#log.error({ err, action: e.action }, 'could not write the audit log');
    }
  }

  async list(q: AuditQuery): Promise<{ items: AuditEntry[]; total: number }> {
    let base = this.#db.selectFrom('audit_log');
    if (q.action !== undefined) {
      base = q.action.endsWith('.')
        ? base.where('action', 'like', `${q.action.replace(/[%_\\]/g, '\\$&')}%`)
        : base.where('action', '=', q.action);
    }
    if (q.actor !== undefined) base = base.where('actor', '=', q.actor);
    if (q.targetUser !== undefined) base = base.where('target_user', '=', q.targetUser);
    if (q.outcome !== undefined) base = base.where('outcome', '=', q.outcome);
    if (q.since !== undefined) base = base.where('at', '>=', q.since);
    if (q.until !== undefined) base = base.where('at', '<', q.until);
    const [rows, count] = await Promise.all([
      base.selectAll().orderBy('id', 'desc').offset(q.offset).limit(q.limit).execute(),
      base.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return {
      total: Number(count.n),
      items: rows.map((r) => ({
        id: Number(r.id),
        at: new Date(r.at).toISOString(),
        action: r.action,
        outcome: r.outcome as AuditOutcome,
        actor: r.actor,
        actor_kind: actorKind(r.actor),
        target_user: r.target_user,
        target: r.target,
        ip: r.ip,
        detail: (r.detail ?? {}) as Record<string, unknown>,
      })),
    };
  }
}

import type { Logger } from 'pino';
import type { AccessRepo } from '../db/access-repo.ts';
import { type AccessSets, isAllowed, isBlocked, nextAdmin, type Subject } from './access-policy.ts';

export interface AccessReport {
  readonly adminGranted: readonly string[];
  readonly adminRevoked: readonly string[];
  readonly revoked: readonly string[];
  /** Newly marked blocked because BERTH_BLOCKED_USERS names them. */
  readonly blocked: readonly string[];
}

/**
 * Applied at every hub start, declaratively. Unlike JupyterHub, where a user taken out of the configuration
 * keeps what the database remembers:
 * - `admin_users`/`admin_groups` grant admin; a user whose admin flag came from the configuration and who is
 *   no longer named by it loses it (admins made by hand, e.g. `berth user add --admin`, keep theirs);
 * - a user the configuration no longer allows (blocked, or outside the allowed sets) loses every session and
 *   API/OAuth token, when `revokeDisallowed` is on (the default);
 * - a user named in `blocked_users` (BERTH_BLOCKED_USERS) is marked blocked in the database (`users.blocked`,
 *   the flag the API shows and admins set). The configuration is authoritative: such a user cannot be unblocked
 *   through the API while it names them, and taking them out of it does not unblock them (an admin does).
 */
export async function applyAccessAtStart(
  repo: AccessRepo,
  sets: AccessSets,
  opts: { revokeDisallowed: boolean; log: Logger },
): Promise<AccessReport> {
  const adminGranted: string[] = [];
  const adminRevoked: string[] = [];
  const revoked: string[] = [];
  const blocked: string[] = [];
  for (const u of await repo.all()) {
    const subject: Subject = {
      name: u.name,
      groups: u.groups,
      local: u.authenticator === 'local' || (u.authenticator === null && u.password_hash !== null),
    };
    const next = nextAdmin({ admin: u.admin, byConfig: u.admin_by_config }, sets, subject);
    if (next.admin !== u.admin || next.byConfig !== u.admin_by_config) await repo.setAdmin(u.id, next);
    if (next.admin !== u.admin) (next.admin ? adminGranted : adminRevoked).push(u.name);
    if (isBlocked(sets, subject) && !u.blocked) {
      await repo.setBlocked(u.id, true);
      blocked.push(u.name);
    }
    if (opts.revokeDisallowed && !isAllowed(sets, subject)) {
      const n = await repo.revoke(u.id);
      if (n.sessions + n.tokens > 0) revoked.push(u.name);
    }
  }
  opts.log.info(
    { event: 'access.applied', adminGranted, adminRevoked, revoked, blocked },
    'access configuration applied',
  );
  return { adminGranted, adminRevoked, revoked, blocked };
}

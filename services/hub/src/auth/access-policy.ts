/**
 * Who may enter and who is an admin, as pure functions of the configuration and what the authenticator said.
 * No I/O: unit-tested in access-policy.test.ts, used by the login pipeline and by the reconciliation at start.
 */
export interface AccessSets {
  readonly allowedUsers: readonly string[];
  readonly blockedUsers: readonly string[];
  readonly allowedGroups: readonly string[];
  readonly adminUsers: readonly string[];
  readonly adminGroups: readonly string[];
  /** With no allowed set, let every authenticated user in (external authenticators need it explicitly). */
  readonly allowAll: boolean;
}

export interface Subject {
  readonly name: string;
  readonly groups: readonly string[];
  /** The subject came from local accounts, which only an admin creates. */
  readonly local: boolean;
}

const meets = (a: readonly string[], b: readonly string[]) => a.some((x) => b.includes(x));

export function isBlocked(sets: AccessSets, s: Subject): boolean {
  return sets.blockedUsers.includes(s.name);
}

/** Admin by configuration: `admin_users` or a group in `admin_groups`. */
export function isConfigAdmin(sets: AccessSets, s: Subject): boolean {
  return sets.adminUsers.includes(s.name) || meets(s.groups, sets.adminGroups);
}

export function hasAllowList(sets: AccessSets): boolean {
  return sets.allowedUsers.length > 0 || sets.allowedGroups.length > 0;
}

/**
 * Allowed: never when blocked; admins by configuration always (as in JupyterHub); then the allowed sets. With
 * no allowed set, local accounts are allowed (an admin created them) and external ones only with allowAll.
 */
export function isAllowed(sets: AccessSets, s: Subject): boolean {
  if (isBlocked(sets, s)) return false;
  if (isConfigAdmin(sets, s)) return true;
  if (hasAllowList(sets)) return sets.allowedUsers.includes(s.name) || meets(s.groups, sets.allowedGroups);
  return sets.allowAll || s.local;
}

/** The stored admin flag, and whether the configuration set it (and so may take it away). */
export interface AdminFlag {
  readonly admin: boolean;
  readonly byConfig: boolean;
}

/**
 * The admin flag after re-evaluation (at login with fresh groups, or at start with a new configuration).
 * Admin by configuration now → admin. Admin by configuration before but not now → revoked. Otherwise the
 * stored flag stands: an admin made by hand (`berth user add --admin`) keeps it.
 */
export function nextAdmin(current: AdminFlag, sets: AccessSets, s: Subject): AdminFlag {
  if (isConfigAdmin(sets, s)) return { admin: true, byConfig: true };
  if (current.byConfig) return { admin: false, byConfig: false };
  return { admin: current.admin, byConfig: false };
}

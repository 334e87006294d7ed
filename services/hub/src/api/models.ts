import type { ServerRow, UserRow } from '../db/schema.ts';
import type { CullWarning } from '../servers/culler.ts';
import { serverPrefix } from '../servers/naming.ts';

const iso = (d: Date | string | null | undefined): string | null =>
  d ? (d instanceof Date ? d : new Date(d)).toISOString() : null;

/**
 * A server as JupyterHub's REST API shapes it. A stopped server (listed with `?include_stopped_servers`) is
 * `stopped: true`, neither ready nor pending, with no start time and its last activity kept, as JupyterHub.
 */
export function serverModel(user: UserRow, row: ServerRow, pending: boolean, cull?: CullWarning) {
  const stopped = row.state === 'stopped' && !pending;
  const ready = row.state === 'running';
  const path = serverPrefix(user.name, row.name);
  return {
    name: row.name,
    ready,
    pending: row.state === 'stopping' ? 'stop' : pending || row.state === 'pending' ? 'spawn' : null,
    stopped,
    url: path,
    progress_url: `/hub/api/users/${encodeURIComponent(user.name)}/${row.name ? `servers/${encodeURIComponent(row.name)}` : 'server'}/progress`,
    started: stopped ? null : iso(row.started),
    last_activity: iso(row.last_activity ?? row.started),
    state: null,
    // JupyterHub keeps the spawn's user_options on the server; Berth's only option is the profile.
    user_options: row.profile_name ? { profile: row.profile_name } : {},
    /** Berth extension: the exact profile version the server runs. */
    profile: row.profile_name ? { name: row.profile_name, version: row.profile_version } : null,
    /** Berth: set while idle culling will stop this server unless it is used (docs/configuration.md). */
    cull_warning: cull
      ? { reason: cull.reason, cull_at: iso(cull.cullAt), idle_since: iso(cull.idleSince) }
      : null,
  };
}

/**
 * A user as JupyterHub's REST API shapes it. `servers` holds the rows given: the active ones, or with
 * `?include_stopped_servers` the stopped ones too; `server` and `pending` speak of the default server only
 * while it is active.
 */
export function userModel(
  user: UserRow,
  servers: readonly ServerRow[],
  pendingNames: ReadonlySet<string>,
  cullWarning?: (serverName: string) => CullWarning | undefined,
  /** Custom roles given to this user by name (RoleBook.assignedToUser), after the default ones. */
  customRoles: readonly string[] = [],
) {
  const byName: Record<string, ReturnType<typeof serverModel>> = {};
  for (const s of servers)
    byName[s.name] = serverModel(user, s, pendingNames.has(s.name), cullWarning?.(s.name));
  const def = byName[''];
  return {
    kind: 'user' as const,
    name: user.name,
    admin: user.admin,
    /** Berth extension: blocked by an admin or BERTH_BLOCKED_USERS (no login, no session, no token). */
    blocked: user.blocked === true,
    roles: [...(user.admin ? ['admin', 'user'] : ['user']), ...customRoles],
    groups: [...(user.groups ?? [])],
    server: def?.ready ? def.url : null,
    pending: def && !def.stopped ? def.pending : null,
    created: iso(user.created),
    last_activity: iso(user.last_activity),
    servers: byName,
  };
}

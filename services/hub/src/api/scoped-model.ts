import { hasScope } from '../authz/scopes.ts';

/**
 * Which fields of a user model each scope reveals, as JupyterHub's `APIHandler.user_model` access map: a caller
 * sees the union over the scopes it holds on that user. jupyterhub-idle-culler relies on it: its documented
 * scopes (`list:users`, `read:users:activity`, `read:servers`, `delete:servers`) give it `last_activity` and
 * `servers`, but not `read:users`. `blocked` is Berth's and goes with `read:users`.
 */
const ACCESS: Readonly<Record<string, readonly string[]>> = {
  'read:users': [
    'kind',
    'name',
    'admin',
    'roles',
    'groups',
    'server',
    'pending',
    'created',
    'last_activity',
    'blocked',
  ],
  'read:users:name': ['kind', 'name', 'admin'],
  'read:users:groups': ['kind', 'name', 'groups'],
  'read:users:activity': ['kind', 'name', 'last_activity'],
  'read:servers': ['kind', 'name', 'servers'],
  'read:roles:users': ['kind', 'name', 'roles', 'admin'],
};

/** The scopes any of which lets a caller read a user's model at all (JupyterHub's `GET /users/{name}`). */
export const USER_MODEL_SCOPES: readonly string[] = Object.keys(ACCESS);

/**
 * `model` cut to what `scopes` reveal about `userName`, as JupyterHub's `user_model`: the fields of the access
 * map above, and in `servers` only the servers the caller may `read:servers` (a `!server=` filter shows that
 * server alone). Undefined when the scopes reveal nothing about this user (JupyterHub's empty model, left out
 * of lists). `auth_state` is the caller's to add (admin:auth_state).
 */
export function scopedUserModel<
  M extends {
    readonly kind: string;
    readonly name: string;
    readonly servers: Readonly<Record<string, unknown>>;
  },
>(
  model: M,
  scopes: readonly string[],
  userName: string,
): (Partial<M> & Pick<M, 'kind' | 'name'>) | undefined {
  const keys = new Set<string>();
  for (const [scope, fields] of Object.entries(ACCESS)) {
    if (hasScope(scopes, scope, { user: userName })) for (const f of fields) keys.add(f);
  }
  if (keys.size === 0) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(model)) if (keys.has(k) && k !== 'servers') out[k] = v;
  const servers: Record<string, unknown> = {};
  for (const [name, server] of Object.entries(model.servers)) {
    if (hasScope(scopes, 'read:servers', { user: userName, server: `${userName}/${name}` })) {
      servers[name] = server;
    }
  }
  // As JupyterHub: `servers` is there (maybe empty) with read:servers on the user, or when some server is readable.
  if (keys.has('servers') || Object.keys(servers).length > 0) out.servers = servers;
  return out as Partial<M> & Pick<M, 'kind' | 'name'>;
}

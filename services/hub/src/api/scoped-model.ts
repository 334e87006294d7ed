import { parseScope } from '../authz/scopes.ts';

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

interface Held {
  all: boolean;
  readonly users: Set<string>;
  readonly servers: Set<string>;
}

type UserModelLike = {
  readonly kind: string;
  readonly name: string;
  readonly servers: Readonly<Record<string, unknown>>;
};
export type SeenUserModel<M extends UserModelLike> = Partial<M> & Pick<M, 'kind' | 'name'>;

/**
 * A function that cuts user models to what `scopes` (expanded, group filters already turned into user filters)
 * reveal, as JupyterHub's `user_model`: the fields of the access map above, and in `servers` only the servers
 * the caller may `read:servers` (a `!server=` filter shows that server alone). It answers undefined when the
 * scopes reveal nothing about that user (JupyterHub's empty model, left out of lists). The scopes are read once,
 * so a page of 200 users costs a few set lookups each. `auth_state` is the caller's to add (admin:auth_state).
 */
export function userModelViewer(
  scopes: readonly string[],
): <M extends UserModelLike>(model: M) => SeenUserModel<M> | undefined {
  const held = new Map<string, Held>(
    USER_MODEL_SCOPES.map((s) => [s, { all: false, users: new Set(), servers: new Set() }]),
  );
  for (const s of scopes) {
    const p = parseScope(s);
    const h = p && held.get(p.name);
    if (!h) continue;
    if (!p.filter) h.all = true;
    else if (p.filter.kind === 'user') h.users.add(p.filter.value);
    else if (p.filter.kind === 'server') h.servers.add(p.filter.value);
  }
  // Everything unfiltered (an admin, or a user's own full token on anyone it may read): the model as it is.
  if ([...held.values()].every((h) => h.all)) return (model) => model;
  const readServers = held.get('read:servers') as Held;
  return <M extends UserModelLike>(model: M) => {
    const keys = new Set<string>();
    for (const [scope, fields] of Object.entries(ACCESS)) {
      const h = held.get(scope) as Held;
      if (h.all || h.users.has(model.name)) for (const f of fields) keys.add(f);
    }
    if (keys.size === 0) return undefined;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(model)) if (keys.has(k) && k !== 'servers') out[k] = v;
    const allServers = keys.has('servers');
    const servers: Record<string, unknown> = {};
    for (const [name, server] of Object.entries(model.servers)) {
      if (allServers || readServers.servers.has(`${model.name}/${name}`)) servers[name] = server;
    }
    // As JupyterHub: `servers` is there (maybe empty) with read:servers on the user, or when a server is readable.
    if (allServers || Object.keys(servers).length > 0) out.servers = servers;
    return out as SeenUserModel<M>;
  };
}

/** One user's model as `scopes` reveal it (see userModelViewer). */
export function scopedUserModel<M extends UserModelLike>(
  model: M,
  scopes: readonly string[],
): SeenUserModel<M> | undefined {
  return userModelViewer(scopes)(model);
}

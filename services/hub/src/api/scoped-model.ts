import { hasScope } from '../authz/scopes.ts';

/**
 * Which fields of a user model each scope reveals, as JupyterHub's `APIHandler.user_model` access map: a caller
 * sees the union over the scopes it holds on that user. jupyterhub-idle-culler relies on it: its documented
 * scopes (`list:users`, `read:users:activity`, `read:servers`, `delete:servers`) give it `last_activity` and
 * `servers`, but not `read:users`.
 */
const ACCESS: Readonly<Record<string, readonly string[]>> = {
  'read:users': ['kind', 'name', 'admin', 'roles', 'groups', 'server', 'pending', 'created', 'last_activity'],
  'read:users:name': ['kind', 'name', 'admin'],
  'read:users:groups': ['kind', 'name', 'groups'],
  'read:users:activity': ['kind', 'name', 'last_activity'],
  'read:servers': ['kind', 'name', 'servers'],
  'read:roles:users': ['kind', 'name', 'roles', 'admin'],
};

/** `model` cut to the fields `scopes` reveal about `userName`; `kind` and `name` always (list:users). */
export function scopedUserModel<M extends { readonly kind: string; readonly name: string }>(
  model: M,
  scopes: readonly string[],
  userName: string,
): Partial<M> & Pick<M, 'kind' | 'name'> {
  const keys = new Set<string>(['kind', 'name']);
  for (const [scope, fields] of Object.entries(ACCESS)) {
    if (hasScope(scopes, scope, { user: userName })) for (const f of fields) keys.add(f);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(model)) if (keys.has(k)) out[k] = v;
  return out as Partial<M> & Pick<M, 'kind' | 'name'>;
}

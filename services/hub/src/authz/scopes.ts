/**
 * JupyterHub's scope vocabulary, as data. A scope is `name` or `name!filter=value` where the filter is
 * `user=<name>`, `server=<user>/<server>` or `group=<name>`.
 */

/** What each scope implies (transitively): JupyterHub's `scope_definitions` subscopes (scopes.py), as data. */
const IMPLIES: Readonly<Record<string, readonly string[]>> = {
  'admin:users': ['admin:auth_state', 'users', 'read:roles:users', 'delete:users'],
  users: ['read:users', 'list:users', 'users:activity'],
  'list:users': ['read:users:name'],
  'read:users': ['read:users:name', 'read:users:groups', 'read:users:activity'],
  'read:roles': ['read:roles:users', 'read:roles:services', 'read:roles:groups'],
  'users:activity': ['read:users:activity'],
  'admin:servers': ['admin:server_state', 'servers'],
  servers: ['read:servers', 'start:servers', 'delete:servers'],
  'read:servers': ['read:users:name'],
  tokens: ['read:tokens'],
  // Berth extension (docs/profiles.md): admins manage image profiles; everyone may read those they can use.
  'admin:profiles': ['read:profiles'],
  'admin:groups': ['groups', 'read:roles:groups', 'delete:groups'],
  groups: ['read:groups', 'list:groups'],
  'list:groups': ['read:groups:name'],
  'read:groups': ['read:groups:name'],
  'admin:services': ['list:services', 'read:services', 'read:roles:services'],
  'list:services': ['read:services:name'],
  'read:services': ['read:services:name'],
};

/** Every scope name JupyterHub defines that Berth knows (sharing scopes are not implemented). */
export const SCOPE_NAMES: ReadonlySet<string> = new Set([
  ...Object.keys(IMPLIES),
  ...Object.values(IMPLIES).flat(),
  'admin-ui',
  'read:hub',
  'access:servers',
  'access:services',
  'proxy',
  'shutdown',
  'read:metrics',
  // Berth extensions: the audit log and usage accounting (docs/api.md), admin-only by default
  'read:audit',
  'read:usage',
]);

/** Scopes of the built-in roles, as JupyterHub's `get_default_roles` (without sharing). `self` means "the owner's scopes, filtered to the owner". */
export const ROLE_SCOPES = {
  user: ['self'],
  admin: [
    'admin-ui',
    'admin:users',
    'admin:servers',
    'admin:services',
    'tokens',
    'admin:groups',
    'list:services',
    'read:services',
    'read:hub',
    'proxy',
    'shutdown',
    'access:services',
    'access:servers',
    'read:roles',
    'read:metrics',
    'read:audit',
    'read:usage',
  ],
  server: ['users:activity!user', 'access:servers!server'],
  token: ['inherit'],
} as const;

const SELF_SCOPES = ['read:users', 'users:activity', 'servers', 'tokens', 'access:servers'];

export interface Owner {
  readonly name: string;
  readonly admin: boolean;
  /** Raw scopes of the custom roles the owner holds (roles.ts), beyond the default `user`/`admin` roles. */
  readonly extra?: readonly string[];
}

export interface ParsedScope {
  readonly name: string;
  readonly filter?: { readonly kind: 'user' | 'server' | 'group' | 'service'; readonly value: string };
}

/** Parsed scopes by text: the same few hundred strings are checked on every request. Bounded; never stale. */
const PARSED = new Map<string, ParsedScope | null>();
const PARSED_MAX = 20_000;

export function parseScope(scope: string): ParsedScope | undefined {
  const known = PARSED.get(scope);
  if (known !== undefined) return known ?? undefined;
  const parsed = parseScopeText(scope);
  if (PARSED.size >= PARSED_MAX) PARSED.clear();
  PARSED.set(scope, parsed ? Object.freeze(parsed) : null);
  return parsed;
}

function parseScopeText(scope: string): ParsedScope | undefined {
  const bang = scope.indexOf('!');
  if (bang < 0) return /^[a-z:_-]+$/.test(scope) ? { name: scope } : undefined;
  const name = scope.slice(0, bang);
  const m = /^(user|server|group|service)=(.+)$/.exec(scope.slice(bang + 1));
  if (!m || !/^[a-z:_-]+$/.test(name)) return undefined;
  return { name, filter: { kind: m[1] as 'user' | 'server' | 'group' | 'service', value: m[2] as string } };
}

function implied(name: string, out: Set<string>): void {
  if (out.has(name)) return;
  out.add(name);
  for (const n of IMPLIES[name] ?? []) implied(n, out);
}

function format(name: string, filter?: ParsedScope['filter']): string {
  return filter ? `${name}!${filter.kind}=${filter.value}` : name;
}

/** Expand a set of scopes (with `self`, `inherit` and implications) into the full list JupyterHub reports. */
export function expandScopes(scopes: readonly string[], owner: Owner): string[] {
  const out = new Set<string>();
  for (const s of scopes) {
    if (s === 'inherit') {
      for (const e of expandScopes(ownerScopes(owner), owner)) out.add(e);
      continue;
    }
    if (s === 'self') {
      for (const base of SELF_SCOPES) {
        const names = new Set<string>();
        implied(base, names);
        for (const n of names) out.add(format(n, { kind: 'user', value: owner.name }));
      }
      out.add(format('read:users:name', { kind: 'user', value: owner.name }));
      continue;
    }
    const p = parseScope(s);
    if (!p) continue;
    const names = new Set<string>();
    implied(p.name, names);
    for (const n of names) out.add(format(n, p.filter));
  }
  return [...out].sort();
}

/** The scopes a user holds through their roles. */
export function ownerScopes(owner: Owner): string[] {
  // read:profiles is filtered to the owner like everything a plain user holds: the profiles they may use.
  const base = owner.admin
    ? ['self', 'admin:profiles', ...ROLE_SCOPES.admin]
    : ['self', `read:profiles!user=${owner.name}`];
  // Custom roles from the RBAC file (roles.ts) add their scopes.
  return owner.extra?.length ? [...base, ...owner.extra] : base;
}

/** What a check is about. */
export interface Target {
  readonly user?: string;
  readonly server?: string; // "<user>/<server>"
  readonly group?: string;
  readonly service?: string;
}

/** Does one held (expanded) scope grant `needed` on `target`? */
function grants(held: ParsedScope, needed: string, target: Target): boolean {
  if (held.name !== needed) return false;
  if (!held.filter) return true;
  const { kind, value } = held.filter;
  if (kind === 'user') return target.user === value;
  if (kind === 'server') return target.server === value;
  if (kind === 'service') return target.service === value;
  // A group filter grants on the group itself; on its members through expandGroupFilters (group-filters.ts).
  return target.group === value;
}

/** Check an already-expanded scope list. */
export function hasScope(expanded: readonly string[], needed: string, target: Target = {}): boolean {
  for (const s of expanded) {
    const p = parseScope(s);
    if (p && grants(p, needed, target)) return true;
  }
  return false;
}

/** Is one expanded scope covered by an owner's expanded scopes? */
export function covers(held: readonly string[], scope: string): boolean {
  const q = parseScope(scope);
  if (!q) return false;
  if (!q.filter) return held.includes(q.name);
  if (held.includes(scope)) return true;
  if (q.filter.kind === 'user') return hasScope(held, q.name, { user: q.filter.value });
  if (q.filter.kind === 'server') {
    return hasScope(held, q.name, { server: q.filter.value, user: q.filter.value.split('/')[0] as string });
  }
  if (q.filter.kind === 'service') return hasScope(held, q.name, { service: q.filter.value });
  return hasScope(held, q.name, { group: q.filter.value });
}

/**
 * Keep only the requested scopes the owner actually holds: a token can never exceed its owner.
 * Returns the kept scopes and the refused ones.
 */
export function intersectWithOwner(
  requested: readonly string[],
  owner: Owner,
): { kept: string[]; refused: string[] } {
  const held = expandScopes(ownerScopes(owner), owner);
  const kept: string[] = [];
  const refused: string[] = [];
  for (const r of requested) {
    const ok =
      r === 'inherit' ||
      r === 'self' ||
      (parseScope(r) !== undefined && expandScopes([r], owner).every((s) => covers(held, s)));
    (ok ? kept : refused).push(r);
  }
  return { kept, refused };
}

import { parseScope } from './scopes.ts';

/**
 * Which objects of a collection an (expanded) scope list lets the caller see: everything, or the users named
 * by `!user=` filters and the members of the groups named by `!group=` filters. JupyterHub enforces filtered
 * scopes on collections the same way: `read:users!user=alice` lists alice and nobody else.
 */
export type CollectionFilter =
  | { readonly all: true }
  | { readonly all: false; readonly users: readonly string[]; readonly groups: readonly string[] };

/** The filter for `needed`, or undefined when the caller holds it on nothing at all. */
export function collectionFilter(expanded: readonly string[], needed: string): CollectionFilter | undefined {
  const users = new Set<string>();
  const groups = new Set<string>();
  for (const s of expanded) {
    const p = parseScope(s);
    if (!p || p.name !== needed) continue;
    if (!p.filter) return { all: true };
    if (p.filter.kind === 'user') users.add(p.filter.value);
    else if (p.filter.kind === 'group') groups.add(p.filter.value);
  }
  if (users.size === 0 && groups.size === 0) return undefined;
  return { all: false, users: [...users].sort(), groups: [...groups].sort() };
}

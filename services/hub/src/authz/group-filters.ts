import { parseScope } from './scopes.ts';

/** Member names of each named group (groups that do not exist are absent or empty). */
export type MembersOf = (groups: readonly string[]) => Promise<ReadonlyMap<string, readonly string[]>>;

/**
 * `X!group=g` grants X on the group g and on each of its members, as JupyterHub checks group membership of the
 * target. Point checks (hasScope) see users only, so add `X!user=<member>` for every member, asked once per
 * request and only when a group filter is held.
 */
export async function expandGroupFilters(scopes: readonly string[], membersOf: MembersOf): Promise<string[]> {
  const byGroup = new Map<string, string[]>();
  for (const s of scopes) {
    const p = parseScope(s);
    if (p?.filter?.kind !== 'group') continue;
    byGroup.set(p.filter.value, [...(byGroup.get(p.filter.value) ?? []), p.name]);
  }
  if (byGroup.size === 0) return [...scopes];
  const members = await membersOf([...byGroup.keys()]);
  const out = new Set(scopes);
  for (const [group, names] of byGroup) {
    for (const user of members.get(group) ?? []) for (const n of names) out.add(`${n}!user=${user}`);
  }
  return [...out].sort();
}

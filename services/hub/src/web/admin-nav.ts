import { collectionFilter } from '../authz/collection-filter.ts';
import { parseScope } from '../authz/scopes.ts';

export interface AdminSection {
  readonly href: string;
  readonly label: string;
}

/**
 * Does the viewer hold `needed` on more than their own things? A user's `self` role grants every user scope
 * filtered to themselves; an admin view needs the scope unfiltered, or filtered to a group or another user.
 */
export function seesBeyondSelf(scopes: readonly string[], needed: string, self?: string): boolean {
  const f = collectionFilter(scopes, needed);
  if (!f) return false;
  if (f.all) return true;
  return f.groups.length > 0 || f.users.some((u) => u !== self);
}

function holdsUnfiltered(scopes: readonly string[], needed: string): boolean {
  return scopes.some((s) => {
    const p = parseScope(s);
    return p !== undefined && p.name === needed && !p.filter;
  });
}

/** The admin pages this viewer may open, in menu order. Each page checks again on the server. */
export function adminSections(scopes: readonly string[], self?: string): AdminSection[] {
  const out: AdminSection[] = [];
  if (seesBeyondSelf(scopes, 'read:users', self)) out.push({ href: '/hub/admin/users', label: 'Users' });
  if (seesBeyondSelf(scopes, 'read:servers', self))
    out.push({ href: '/hub/admin/servers', label: 'Servers' });
  if (holdsUnfiltered(scopes, 'read:groups')) out.push({ href: '/hub/admin/groups', label: 'Groups' });
  if (holdsUnfiltered(scopes, 'admin:profiles')) out.push({ href: '/hub/admin/profiles', label: 'Profiles' });
  if (holdsUnfiltered(scopes, 'read:audit')) out.push({ href: '/hub/admin/audit', label: 'Audit log' });
  if (holdsUnfiltered(scopes, 'read:usage')) out.push({ href: '/hub/admin/usage', label: 'Usage' });
  if (holdsUnfiltered(scopes, 'admin:users')) {
    out.push({ href: '/hub/admin/announcement', label: 'Announcement' });
  }
  return out;
}

export function hasAnyAdminView(scopes: readonly string[], self?: string): boolean {
  return adminSections(scopes, self).length > 0;
}

import type { Identity } from '../auth/identity.ts';
import type { Viewer } from './pages.ts';

/** What a page needs to know about who is looking: name, admin flag and scopes (for the navigation). */
export function viewerOf(id: Identity): Viewer {
  return { name: id.user.name, admin: id.user.admin, scopes: id.scopes };
}

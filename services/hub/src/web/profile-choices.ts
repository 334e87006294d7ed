import type { UserRow } from '../db/schema.ts';
import type { HubContext } from '../http/context.ts';
import type { ProfileChoice } from './spawn-pages.ts';

/**
 * The profiles `user` may start, as the picker shows them. An empty list means the hub has no profiles, and
 * starting skips the picker (the configured image is used).
 */
export async function profileChoices(_ctx: HubContext, _user: UserRow): Promise<ProfileChoice[]> {
  return [];
}

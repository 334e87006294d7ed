import type { UserRow } from '../db/schema.ts';
import type { LoginPipeline } from './login-pipeline.ts';

/** Secrets the hub keeps for itself: never shown, not even to admins with admin:auth_state. */
const HIDDEN = new Set(['refresh_token', 'id_token', 'access_token']);

/**
 * A user's auth state as the users API shows it to a caller with `admin:auth_state` (JupyterHub's `auth_state`
 * field): the decrypted state (LDAP `dn` and `attributes`, OIDC `sub` and `claims`, …) without the tokens the hub
 * uses on the user's behalf. Null when there is none, or it was sealed with a key that is gone.
 */
export function visibleAuthState(
  login: Pick<LoginPipeline, 'openState'>,
  user: Pick<UserRow, 'auth_state'>,
): Record<string, unknown> | null {
  const state = login.openState(user.auth_state);
  if (!state) return null;
  return Object.fromEntries(Object.entries(state).filter(([k]) => !HIDDEN.has(k)));
}

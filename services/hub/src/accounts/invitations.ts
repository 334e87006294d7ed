import { checkUserName } from '../api/validate.ts';
import type { UsersRepo } from '../db/users-repo.ts';
import { HubError } from '../errors.ts';
import type { InvitationsRepo } from './invitations-repo.ts';

export const DEFAULT_INVITATION_SECONDS = 7 * 24 * 3600;
export const MAX_INVITATION_SECONDS = 30 * 24 * 3600;

export interface CreatedInvitation {
  readonly username: string;
  readonly admin: boolean;
  readonly url: string;
  readonly expiresAt: Date;
}

/**
 * Invite a person to a new local account: a single-use link (`/hub/invite/<secret>`) that expires. Used by the
 * REST API and the `berth invite` CLI. Refused for a name that already has an account.
 */
export async function createInvitation(
  deps: {
    invitations: InvitationsRepo;
    users: Pick<UsersRepo, 'byName'>;
    publicUrl: string;
    localEnabled: boolean;
  },
  req: { username: unknown; admin?: boolean; expiresInSeconds?: number; createdBy: string | null },
  now = new Date(),
): Promise<CreatedInvitation> {
  if (!deps.localEnabled) {
    throw new HubError(
      'BAD_REQUEST',
      'invitations create local accounts, and local is not in BERTH_AUTHENTICATORS',
    );
  }
  const username = checkUserName(req.username);
  const seconds = req.expiresInSeconds ?? DEFAULT_INVITATION_SECONDS;
  if (!Number.isInteger(seconds) || seconds <= 0 || seconds > MAX_INVITATION_SECONDS) {
    throw new HubError(
      'BAD_REQUEST',
      `expires_in must be a whole number of seconds, 1 to ${MAX_INVITATION_SECONDS}`,
    );
  }
  if (await deps.users.byName(username)) throw new HubError('USER_EXISTS', `user ${username} already exists`);
  const expiresAt = new Date(now.getTime() + seconds * 1000);
  const admin = req.admin === true;
  const secret = await deps.invitations.create({ username, admin, createdBy: req.createdBy, expiresAt });
  return { username, admin, expiresAt, url: new URL(`/hub/invite/${secret}`, deps.publicUrl).href };
}

import { createInvitation } from '../accounts/invitations.ts';
import { InvitationsRepo } from '../accounts/invitations-repo.ts';
import type { Config } from '../config/schema.ts';
import type { createDatabase } from '../db/database.ts';
import { UsersRepo } from '../db/users-repo.ts';
import { HubError } from '../errors.ts';

export const INVITE_USAGE = `  invite <name> [--admin] [--expires-in seconds]
                                                   a single-use link that lets <name> set the password of a
                                                   new local account (default: valid 7 days); prints it once
`;

/** `berth invite <name>`: prints the invitation link (the same as POST /hub/api/invitations). */
export async function runInvite(
  db: ReturnType<typeof createDatabase>,
  config: Config,
  name: string | undefined,
  opts: { admin: boolean; expiresIn: string | undefined },
): Promise<string> {
  const seconds = opts.expiresIn === undefined ? undefined : Number(opts.expiresIn);
  if (seconds !== undefined && !Number.isInteger(seconds)) {
    throw new HubError('BAD_REQUEST', '--expires-in must be a whole number of seconds');
  }
  const inv = await createInvitation(
    {
      invitations: new InvitationsRepo(db),
      users: new UsersRepo(db),
      publicUrl: config.publicUrl,
      localEnabled: config.auth.authenticators.includes('local'),
    },
    {
      username: name,
      admin: opts.admin,
      ...(seconds !== undefined ? { expiresInSeconds: seconds } : {}),
      createdBy: 'berth-cli',
    },
  );
  return `${inv.url}\n(for ${inv.username}${inv.admin ? ', admin' : ''}; single use, expires ${inv.expiresAt.toISOString()})\n`;
}

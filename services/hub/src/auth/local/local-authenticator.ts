import type { UserRow } from '../../db/schema.ts';
import type { Authenticator, AuthInput, AuthOutcome } from '../authenticator.ts';
import { refused } from '../authenticator.ts';
import { dummyHash, verifyPassword } from '../password.ts';

export interface LocalAccounts {
  byName(name: string): Promise<Pick<UserRow, 'name' | 'password_hash' | 'groups'> | undefined>;
}

/**
 * Local accounts: the embedded default. A scrypt hash in the users table, set by an admin (`berth user add`).
 * Their groups are the ones an admin stored for them. Unknown users cost the same hash as known ones.
 */
export class LocalAuthenticator implements Authenticator {
  readonly kind = 'local';
  readonly accepts = 'password';
  readonly #accounts: LocalAccounts;

  constructor(accounts: LocalAccounts) {
    this.#accounts = accounts;
  }

  async authenticate(input: AuthInput): Promise<AuthOutcome> {
    if (input.kind !== 'password') return refused('invalid');
    const row = await this.#accounts.byName(input.username);
    const ok = await verifyPassword(input.password, row?.password_hash ?? (await dummyHash()));
    if (!row?.password_hash || !ok) return refused('invalid');
    return { ok: true, username: row.name, groups: row.groups ?? [] };
  }
}

import type { RoleBook } from '../authz/roles.ts';
import type { Owner } from '../authz/scopes.ts';
import { covers, expandScopes, ownerScopes } from '../authz/scopes.ts';
import type { TokenRow, UserRow } from '../db/schema.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import type { TokensRepo } from '../db/tokens-repo.ts';
import type { UsersRepo } from '../db/users-repo.ts';
import { hashToken } from '../sessions/tokens.ts';

/** Who is calling, and with what powers. */
export type Identity =
  | {
      readonly via: 'token';
      readonly user: UserRow;
      readonly token: TokenRow;
      readonly scopes: readonly string[];
      readonly sessionId: string | null;
    }
  | {
      readonly via: 'session';
      readonly user: UserRow;
      readonly sessionId: string;
      readonly scopes: readonly string[];
    };

const TOUCH_INTERVAL_MS = 60_000;

/** A user as the owner of scopes: the default roles by the admin flag, plus custom roles (theirs and their groups'). */
export const ownerOf = (u: UserRow, roles?: RoleBook): Owner => ({
  name: u.name,
  admin: u.admin,
  extra: roles?.forUser(u.name, u.groups ?? []).scopes ?? [],
});

export class IdentityResolver {
  readonly #users: UsersRepo;
  readonly #tokens: TokensRepo;
  readonly #sessions: SessionsRepo;
  readonly #now: () => Date;
  readonly #roles: RoleBook | undefined;

  constructor(deps: {
    users: UsersRepo;
    tokens: TokensRepo;
    sessions: SessionsRepo;
    roles?: RoleBook;
    now?: () => Date;
  }) {
    this.#roles = deps.roles;
    this.#users = deps.users;
    this.#tokens = deps.tokens;
    this.#sessions = deps.sessions;
    this.#now = deps.now ?? (() => new Date());
  }

  async fromToken(token: string): Promise<Identity | undefined> {
    const now = this.#now();
    // Token and owner in one query, uncached: revocation and changes to the owner count on the very next call.
    const found = await this.#tokens.byHashWithUser(hashToken(token), now);
    if (!found) return undefined;
    const { token: row, user } = found;
    // A token never exceeds its owner: expand it, then keep only what the owner holds right now.
    const owner = ownerOf(user, this.#roles);
    const held = expandScopes(ownerScopes(owner), owner);
    const scopes = expandScopes(row.scopes, owner).filter((s) => covers(held, s));
    // Token activity is kept to the minute: no database write on every API call (a hot path).
    const last = row.last_activity?.getTime() ?? 0;
    if (now.getTime() - last >= TOUCH_INTERVAL_MS)
      void this.#tokens.touch(row.id, now).catch(() => undefined);
    return { via: 'token', user, token: row, scopes, sessionId: row.session_id };
  }

  /** `sessionSecret` is the value from the signed cookie; only its hash is stored. */
  async fromSession(sessionSecret: string): Promise<Identity | undefined> {
    const s = await this.#sessions.find(hashToken(sessionSecret), this.#now());
    if (!s) return undefined;
    const user = await this.#users.byId(s.userId);
    if (!user) return undefined;
    return {
      via: 'session',
      user,
      sessionId: s.id,
      scopes: expandScopes(ownerScopes(ownerOf(user, this.#roles)), ownerOf(user, this.#roles)),
    };
  }
}

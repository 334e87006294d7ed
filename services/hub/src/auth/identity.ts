import type { RoleBook } from '../authz/roles.ts';
import type { Owner } from '../authz/scopes.ts';
import { covers, expandScopes, ownerScopes } from '../authz/scopes.ts';
import type { ChangeFeed } from '../db/change-feed.ts';
import { VersionedCache } from '../db/change-feed.ts';
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

interface TokenEntry {
  readonly token: TokenRow;
  readonly user: UserRow;
  readonly scopes: readonly string[];
}

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
  /** Token hash → identity, valid until any write to users, tokens, servers or groups (db/change-feed.ts). */
  readonly #cache: VersionedCache<string, TokenEntry | undefined> | undefined;

  constructor(deps: {
    users: UsersRepo;
    tokens: TokensRepo;
    sessions: SessionsRepo;
    roles?: RoleBook;
    now?: () => Date;
    /** Without it every call reads the database. */
    changes?: ChangeFeed;
  }) {
    this.#roles = deps.roles;
    this.#cache = deps.changes ? new VersionedCache(deps.changes, 10_000) : undefined;
    this.#users = deps.users;
    this.#tokens = deps.tokens;
    this.#sessions = deps.sessions;
    this.#now = deps.now ?? (() => new Date());
  }

  async fromToken(token: string): Promise<Identity | undefined> {
    const now = this.#now();
    const hash = hashToken(token);
    // Token and owner in one query, or from memory while nothing they depend on was written since (a
    // revocation, expiry aside, is a write, so it counts on the very next call).
    const entry = this.#cache
      ? await this.#cache.load(
          hash,
          () => this.#lookup(hash, now),
          (e) => e !== undefined,
        )
      : await this.#lookup(hash, now);
    if (!entry) return undefined;
    const { token: row, user, scopes } = entry;
    if (row.expires_at && row.expires_at.getTime() <= now.getTime()) return undefined;
    // Token activity is kept to the minute: no database write on every API call (a hot path).
    const last = row.last_activity?.getTime() ?? 0;
    if (now.getTime() - last >= TOUCH_INTERVAL_MS) {
      row.last_activity = now;
      void this.#tokens.touch(row.id, now).catch(() => undefined);
    }
    return { via: 'token', user, token: row, scopes, sessionId: row.session_id };
  }

  async #lookup(hash: string, now: Date): Promise<TokenEntry | undefined> {
    const found = await this.#tokens.byHashWithUser(hash, now);
    if (!found) return undefined;
    const { token, user } = found;
    // A token never exceeds its owner: expand it, then keep only what the owner holds right now.
    const owner = ownerOf(user, this.#roles);
    const held = expandScopes(ownerScopes(owner), owner);
    const scopes = expandScopes(token.scopes, owner).filter((s) => covers(held, s));
    return { token, user, scopes };
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

import type { CollectionFilter } from '../authz/collection-filter.ts';
import { type ChangeFeed, VersionedCache } from './change-feed.ts';
import type { ServerRow, UserRow } from './schema.ts';
import type { ServersRepo } from './servers-repo.ts';
import type { UserListOptions, UsersRepo } from './users-repo.ts';

export interface UsersPage {
  readonly rows: readonly UserRow[];
  readonly total: number;
  readonly servers: ReadonlyMap<number, readonly ServerRow[]>;
}

/**
 * The reads behind the REST API's user models, answered from memory while no watched table changed
 * (db/change-feed.ts). What they return is shared between requests: never mutate it.
 */
export class CachedReads {
  readonly #users: UsersRepo;
  readonly #servers: ServersRepo;
  readonly #serversOf: VersionedCache<string, readonly ServerRow[]>;
  readonly #pages: VersionedCache<string, UsersPage>;

  constructor(feed: ChangeFeed, users: UsersRepo, servers: ServersRepo) {
    this.#users = users;
    this.#servers = servers;
    this.#serversOf = new VersionedCache(feed, 10_000);
    this.#pages = new VersionedCache(feed, 64);
  }

  /** A user's servers (what ServersRepo.forUser answers). */
  serversOf(userId: number, opts: { includeStopped?: boolean } = {}): Promise<readonly ServerRow[]> {
    const includeStopped = opts.includeStopped === true;
    return this.#serversOf.load(`${userId}:${includeStopped}`, () =>
      this.#servers.forUser(userId, { includeStopped }),
    );
  }

  /** A page of the users list with their servers (UsersRepo.page, then ServersRepo.forUsers). */
  usersPage(
    filter: CollectionFilter,
    offset: number,
    limit: number,
    opts: UserListOptions,
    servers: { includeStopped?: boolean } = {},
  ): Promise<UsersPage> {
    const includeStopped = servers.includeStopped === true;
    const key = JSON.stringify([
      filter,
      offset,
      limit,
      opts.state,
      opts.nameFilter,
      opts.sort,
      opts.descending,
      includeStopped,
    ]);
    return this.#pages.load(key, async () => {
      const { rows, total } = await this.#users.page(filter, offset, limit, opts);
      const byUser = await this.#servers.forUsers(
        rows.map((u) => u.id),
        { includeStopped },
      );
      return { rows, total, servers: byUser };
    });
  }
}

import { type Kysely, type SelectQueryBuilder, sql } from 'kysely';
import type { CollectionFilter } from '../authz/collection-filter.ts';
import type { Database, UserRow } from './schema.ts';

type UsersQuery<O> = SelectQueryBuilder<Database, 'users', O>;

export interface UserListOptions {
  readonly state?: 'active' | 'inactive' | 'ready';
  readonly nameFilter?: string;
  readonly sort?: 'id' | 'name' | 'last_activity';
  readonly descending?: boolean;
}

function visible<O>(q: UsersQuery<O>, filter: CollectionFilter): UsersQuery<O> {
  if (filter.all) return q;
  const { users, groups } = filter;
  return q.where((eb) =>
    eb.or([
      ...(users.length ? [eb('users.name', 'in', users)] : []),
      ...(groups.length ? [eb(sql<boolean>`users.groups ?| ${sql.val(groups)}::text[]`, '=', true)] : []),
    ]),
  );
}

export class UsersRepo {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  byName(name: string): Promise<UserRow | undefined> {
    return this.#db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
  }

  byId(id: number): Promise<UserRow | undefined> {
    return this.#db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Insert a user; returns undefined when the name is taken. */
  async create(
    name: string,
    opts: { admin: boolean; passwordHash: string | null },
  ): Promise<UserRow | undefined> {
    return this.#db
      .insertInto('users')
      .values({ name, admin: opts.admin, password_hash: opts.passwordHash })
      .onConflict((oc) => oc.column('name').doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  /** Insert users in one statement; returns the ones created (names already taken are skipped), in `names` order. */
  async createMany(names: readonly string[], opts: { admin: boolean }): Promise<UserRow[]> {
    if (names.length === 0) return [];
    const rows = await this.#db
      .insertInto('users')
      .values(names.map((name) => ({ name, admin: opts.admin, password_hash: null })))
      .onConflict((oc) => oc.column('name').doNothing())
      .returningAll()
      .execute();
    const byName = new Map(rows.map((r) => [r.name, r]));
    return names.flatMap((n) => byName.get(n) ?? []);
  }

  async update(id: number, patch: { admin?: boolean; passwordHash?: string | null }): Promise<void> {
    const values: { admin?: boolean; password_hash?: string | null } = {};
    if (patch.admin !== undefined) values.admin = patch.admin;
    if (patch.passwordHash !== undefined) values.password_hash = patch.passwordHash;
    if (Object.keys(values).length === 0) return;
    await this.#db.updateTable('users').set(values).where('id', '=', id).execute();
  }

  async touch(id: number, when: Date): Promise<void> {
    await this.#db
      .updateTable('users')
      .set({ last_activity: when })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_activity', 'is', null), eb('last_activity', '<', when)]))
      .execute();
  }

  list(offset: number, limit: number): Promise<UserRow[]> {
    return this.#db.selectFrom('users').selectAll().orderBy('id').offset(offset).limit(limit).execute();
  }

  /**
   * One page of the users `filter` lets the caller see, with the total, as JupyterHub's `GET /users`: `state`
   * `active` (any server record, pending included), `ready` (a running server) or `inactive` (no server);
   * `nameFilter` a case-insensitive substring; sorted by id, name or last_activity (nulls first ascending,
   * last descending).
   */
  async page(
    filter: CollectionFilter,
    offset: number,
    limit: number,
    opts: UserListOptions = {},
  ): Promise<{ rows: UserRow[]; total: number }> {
    const narrowed = <O>(q: UsersQuery<O>): UsersQuery<O> => {
      let out = visible(q, filter);
      const { state, nameFilter } = opts;
      if (state === 'active' || state === 'ready') {
        out = out.where(({ exists, selectFrom }) =>
          exists(
            selectFrom('servers')
              .select('servers.id')
              .whereRef('servers.user_id', '=', 'users.id')
              .where('servers.state', '<>', 'stopped')
              .$if(state === 'ready', (w) => w.where('servers.state', '=', 'running')),
          ),
        );
      } else if (state === 'inactive') {
        out = out.where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('servers')
                .select('servers.id')
                .whereRef('servers.user_id', '=', 'users.id')
                .where('servers.state', '<>', 'stopped'),
            ),
          ),
        );
      }
      if (nameFilter) {
        const like = `%${nameFilter.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        out = out.where('users.name', 'ilike', like);
      }
      return out;
    };
    const sort = opts.sort ?? 'id';
    const desc = opts.descending ?? false;
    let q = narrowed(this.#db.selectFrom('users').selectAll('users'));
    q =
      sort === 'last_activity'
        ? q.orderBy(sql`users.last_activity ${sql.raw(desc ? 'desc nulls last' : 'asc nulls first')}`)
        : q.orderBy(`users.${sort}`, desc ? 'desc' : 'asc');
    if (sort !== 'id') q = q.orderBy('users.id');
    const rows = await q.offset(offset).limit(limit).execute();
    const { n } = await narrowed(
      this.#db.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('n')),
    ).executeTakeFirstOrThrow();
    return { rows, total: Number(n) };
  }

  /** Delete the user; sessions, tokens, server records and OAuth codes go with them (cascades). */
  async delete(id: number): Promise<void> {
    await this.#db.deleteFrom('users').where('id', '=', id).execute();
  }
}

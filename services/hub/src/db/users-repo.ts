import { type Kysely, type SelectQueryBuilder, sql } from 'kysely';
import type { CollectionFilter } from '../authz/collection-filter.ts';
import type { Database, UserRow } from './schema.ts';

type UsersQuery<O> = SelectQueryBuilder<Database, 'users', O>;

function visible<O>(q: UsersQuery<O>, filter: CollectionFilter): UsersQuery<O> {
  if (filter.all) return q;
  const { users, groups } = filter;
  return q.where((eb) =>
    eb.or([
      ...(users.length ? [eb('name', 'in', users)] : []),
      ...(groups.length ? [eb(sql<boolean>`groups ?| ${sql.val(groups)}::text[]`, '=', true)] : []),
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

  /** One page of the users `filter` lets the caller see, in creation order, with the total. */
  async page(
    filter: CollectionFilter,
    offset: number,
    limit: number,
  ): Promise<{ rows: UserRow[]; total: number }> {
    const rows = await visible(this.#db.selectFrom('users').selectAll(), filter)
      .orderBy('id')
      .offset(offset)
      .limit(limit)
      .execute();
    const { n } = await visible(
      this.#db.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('n')),
      filter,
    ).executeTakeFirstOrThrow();
    return { rows, total: Number(n) };
  }

  /** Delete the user; sessions, tokens, server records and OAuth codes go with them (cascades). */
  async delete(id: number): Promise<void> {
    await this.#db.deleteFrom('users').where('id', '=', id).execute();
  }
}

import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database, GroupRow } from './schema.ts';

/** Group names: 1-255 printable characters, no "/", no surrounding spaces (LDAP cn's like "Lab Staff" fit). */
export const GROUP_NAME_RE = /^[^\s/\p{Cc}](?:[^/\p{Cc}]{0,253}[^\s/\p{Cc}])?$/u;

export interface GroupWithMembers extends GroupRow {
  readonly users: readonly string[];
}

type Db = Kysely<Database> | Transaction<Database>;

/** Make `users.groups` equal to the membership table again for these users. */
async function remirror(db: Db, userIds: readonly number[]): Promise<void> {
  if (userIds.length === 0) return;
  await sql`update users set groups = coalesce(
      (select jsonb_agg(g.name order by g.name) from user_group_map m join groups g on g.id = m.group_id
        where m.user_id = users.id), '[]'::jsonb)
    where id = any(${sql.val([...userIds])}::int[])`.execute(db);
}

async function memberIds(db: Db, groupId: number): Promise<number[]> {
  const rows = await db
    .selectFrom('user_group_map')
    .select('user_id')
    .where('group_id', '=', groupId)
    .execute();
  return rows.map((r) => r.user_id);
}

/**
 * Groups and their members. Every membership change goes through here, in one transaction with the
 * `users.groups` mirror, so the two never disagree.
 */
export class GroupsRepo {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  byName(name: string): Promise<GroupRow | undefined> {
    return this.#db.selectFrom('groups').selectAll().where('name', '=', name).executeTakeFirst();
  }

  /** One page of groups (all, or only the named ones) by name, with the total. */
  async page(
    only: readonly string[] | 'all',
    offset: number,
    limit: number,
  ): Promise<{ rows: GroupRow[]; total: number }> {
    if (only !== 'all' && only.length === 0) return { rows: [], total: 0 };
    let q = this.#db.selectFrom('groups');
    if (only !== 'all') q = q.where('name', 'in', only);
    const rows = await q.selectAll().orderBy('id').offset(offset).limit(limit).execute();
    const { n } = await q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    return { rows, total: Number(n) };
  }

  /** Member names of each group, sorted. */
  async members(groupIds: readonly number[]): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>(groupIds.map((id) => [id, []]));
    if (groupIds.length === 0) return out;
    const rows = await this.#db
      .selectFrom('user_group_map as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['m.group_id', 'u.name'])
      .where('m.group_id', 'in', groupIds)
      .orderBy('u.name')
      .execute();
    for (const r of rows) out.get(r.group_id)?.push(r.name);
    return out;
  }

  /**
   * Member names by group name, read from the `users.groups` mirror: the column the login path writes too, so
   * a `!group=` filter means the same for groups from LDAP/OIDC and groups made through the API.
   */
  async membersByName(names: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (names.length === 0) return out;
    const rows = await this.#db
      .selectFrom('users')
      .select(['name', 'groups'])
      .where(sql<boolean>`users.groups ?| ${sql.val([...names])}::text[]`)
      .execute();
    for (const r of rows) {
      for (const g of r.groups ?? []) if (names.includes(g)) out.set(g, [...(out.get(g) ?? []), r.name]);
    }
    return out;
  }

  async withMembers(row: GroupRow): Promise<GroupWithMembers> {
    return { ...row, users: (await this.members([row.id])).get(row.id) ?? [] };
  }

  /** Create groups; names that exist are skipped. Returns only the new rows. */
  async create(names: readonly string[], memberIds: readonly number[] = []): Promise<GroupRow[]> {
    if (names.length === 0) return [];
    return this.#db.transaction().execute(async (tx) => {
      const rows = await tx
        .insertInto('groups')
        .values(names.map((name) => ({ name, properties: '{}' })))
        .onConflict((oc) => oc.column('name').doNothing())
        .returningAll()
        .execute();
      if (rows.length && memberIds.length) {
        await tx
          .insertInto('user_group_map')
          .values(rows.flatMap((g) => memberIds.map((user_id) => ({ user_id, group_id: g.id }))))
          .onConflict((oc) => oc.doNothing())
          .execute();
        await remirror(tx, memberIds);
      }
      return rows;
    });
  }

  /** Delete a group; its members lose it. Returns false when there was none. */
  async delete(name: string): Promise<boolean> {
    return this.#db.transaction().execute(async (tx) => {
      const g = await tx
        .selectFrom('groups')
        .select('id')
        .where('name', '=', name)
        .forUpdate()
        .executeTakeFirst();
      if (!g) return false;
      const ids = await memberIds(tx, g.id);
      await tx.deleteFrom('groups').where('id', '=', g.id).execute();
      await remirror(tx, ids);
      return true;
    });
  }

  async addMembers(groupId: number, userIds: readonly number[]): Promise<void> {
    if (userIds.length === 0) return;
    await this.#db.transaction().execute(async (tx) => {
      await tx
        .insertInto('user_group_map')
        .values(userIds.map((user_id) => ({ user_id, group_id: groupId })))
        .onConflict((oc) => oc.doNothing())
        .execute();
      await remirror(tx, userIds);
    });
  }

  async removeMembers(groupId: number, userIds: readonly number[]): Promise<void> {
    if (userIds.length === 0) return;
    await this.#db.transaction().execute(async (tx) => {
      await tx
        .deleteFrom('user_group_map')
        .where('group_id', '=', groupId)
        .where('user_id', 'in', userIds)
        .execute();
      await remirror(tx, userIds);
    });
  }

  async setProperties(groupId: number, properties: Record<string, unknown>): Promise<void> {
    await this.#db
      .updateTable('groups')
      .set({ properties: JSON.stringify(properties) })
      .where('id', '=', groupId)
      .execute();
  }

  /**
   * Make the user a member of exactly `names` (an authenticator that manages groups, at login), creating the
   * groups that do not exist yet. Names failing GROUP_NAME_RE are skipped and returned, never stored.
   */
  async syncUserGroups(userId: number, names: readonly string[]): Promise<{ skipped: string[] }> {
    const wanted = [...new Set(names)].filter((n) => GROUP_NAME_RE.test(n));
    const skipped = names.filter((n) => !GROUP_NAME_RE.test(n));
    await this.#db.transaction().execute(async (tx) => {
      if (wanted.length) {
        await tx
          .insertInto('groups')
          .values(wanted.map((name) => ({ name, properties: '{}' })))
          .onConflict((oc) => oc.column('name').doNothing())
          .execute();
      }
      const ids = wanted.length
        ? (await tx.selectFrom('groups').select('id').where('name', 'in', wanted).execute()).map((g) => g.id)
        : [];
      let del = tx.deleteFrom('user_group_map').where('user_id', '=', userId);
      if (ids.length) del = del.where('group_id', 'not in', ids);
      await del.execute();
      if (ids.length) {
        await tx
          .insertInto('user_group_map')
          .values(ids.map((group_id) => ({ user_id: userId, group_id })))
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
      await remirror(tx, [userId]);
    });
    return { skipped };
  }
}

import { type Kysely, type SelectQueryBuilder, sql } from 'kysely';
import type { CollectionFilter } from '../authz/collection-filter.ts';
import type { Database, UserRow } from '../db/schema.ts';

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

/** `%`, `_` and `\` match themselves in a search, not as LIKE wildcards. */
function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** A page of the users the viewer may see whose name contains `q`, by name, with the total. */
export async function searchUsers(
  db: Kysely<Database>,
  filter: CollectionFilter,
  q: string,
  offset: number,
  limit: number,
): Promise<{ rows: UserRow[]; total: number }> {
  const where = <O>(b: UsersQuery<O>) => {
    const v = visible(b, filter);
    return q ? v.where(sql<boolean>`name like ${likePattern(q)} escape '\\'`) : v;
  };
  const rows = await where(db.selectFrom('users').selectAll())
    .orderBy('name')
    .offset(offset)
    .limit(limit)
    .execute();
  const { n } = await where(
    db.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('n')),
  ).executeTakeFirstOrThrow();
  return { rows, total: Number(n) };
}

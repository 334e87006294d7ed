import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.ts';

export type UsageBy = 'user' | 'group' | 'profile';

export interface UsageRow {
  /** The user, group or profile name; `(none)` for servers without a group or profile. */
  readonly key: string;
  readonly server_hours: number;
  /** How many server intervals overlapped the range. */
  readonly servers: number;
}

export const NO_KEY = '(none)';

/**
 * Server-hours over a time range, from `server_usage` (migration 0006, written by triggers on `servers`).
 * An interval counts for the part of it inside [from, to); one still running counts up to now. A server of a
 * user in two groups counts fully for each group.
 */
export class UsageReport {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async report(by: UsageBy, from: Date, to: Date): Promise<UsageRow[]> {
    const key =
      by === 'user'
        ? sql`u.user_name`
        : by === 'profile'
          ? sql`coalesce(u.profile, ${NO_KEY})`
          : sql`coalesce(g.name, ${NO_KEY})`;
    const groups =
      by === 'group' ? sql`left join lateral jsonb_array_elements_text(u.groups) as g(name) on true` : sql``;
    const { rows } = await sql<{ key: string; seconds: string; servers: string }>`
      select ${key} as key,
             sum(extract(epoch from least(coalesce(u.stopped, now()), ${to}::timestamptz)
                                  - greatest(u.started, ${from}::timestamptz))) as seconds,
             count(*) as servers
      from server_usage u ${groups}
      where u.started < ${to}::timestamptz and coalesce(u.stopped, now()) > ${from}::timestamptz
      group by 1
      order by 2 desc, 1`.execute(this.#db);
    return rows.map((r) => ({
      key: r.key,
      server_hours: Math.round((Number(r.seconds) / 3600) * 1000) / 1000,
      servers: Number(r.servers),
    }));
  }
}

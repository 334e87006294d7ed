import { type Kysely, sql } from 'kysely';
import type { Database, ServerRow, ServerState } from './schema.ts';

export class ServersRepo {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /**
   * The server's active record (pending, running or stopping). A stopped server keeps its record (0010) but is
   * not active: {@link record} finds it too.
   */
  find(userId: number, name: string): Promise<ServerRow | undefined> {
    return this.#db
      .selectFrom('servers')
      .selectAll()
      .where('user_id', '=', userId)
      .where('name', '=', name)
      .where('state', '<>', 'stopped')
      .executeTakeFirst();
  }

  /** The server's record in any state, stopped included. */
  record(userId: number, name: string): Promise<ServerRow | undefined> {
    return this.#db
      .selectFrom('servers')
      .selectAll()
      .where('user_id', '=', userId)
      .where('name', '=', name)
      .executeTakeFirst();
  }

  /** The user's active servers; with `includeStopped`, stopped ones too. */
  forUser(userId: number, opts: { includeStopped?: boolean } = {}): Promise<ServerRow[]> {
    return this.#db
      .selectFrom('servers')
      .selectAll()
      .where('user_id', '=', userId)
      .$if(!opts.includeStopped, (q) => q.where('state', '<>', 'stopped'))
      .orderBy('name')
      .execute();
  }

  /** The active servers of several users at once (one query for a page of users); stopped ones on request. */
  async forUsers(
    userIds: readonly number[],
    opts: { includeStopped?: boolean } = {},
  ): Promise<Map<number, ServerRow[]>> {
    const out = new Map<number, ServerRow[]>();
    if (userIds.length === 0) return out;
    const rows = await this.#db
      .selectFrom('servers')
      .selectAll()
      .where('user_id', 'in', userIds)
      .$if(!opts.includeStopped, (q) => q.where('state', '<>', 'stopped'))
      .orderBy('name')
      .execute();
    for (const r of rows) out.set(r.user_id, [...(out.get(r.user_id) ?? []), r]);
    return out;
  }

  /**
   * Claim the (user, name) slot as pending: a new record, or the stopped record of the same name started again
   * (its id, name and last activity kept). Returns undefined when an active record exists.
   */
  claim(userId: number, name: string): Promise<ServerRow | undefined> {
    return this.#db
      .insertInto('servers')
      .values({ user_id: userId, name, state: 'pending', spawner_state: '{}' })
      .onConflict((oc) =>
        oc
          .columns(['user_id', 'name'])
          .doUpdateSet({ state: 'pending', spawner_state: '{}', url: null, started: sql`now()` })
          .where('servers.state', '=', 'stopped'),
      )
      .returningAll()
      .executeTakeFirst();
  }

  /**
   * The server stopped: its record stays, without process, URL or GPUs; its name, profile and last activity
   * are kept so it can be listed and started again.
   */
  async markStopped(id: number): Promise<void> {
    await this.#db
      .updateTable('servers')
      .set({ state: 'stopped', url: null, spawner_state: '{}', gpu_devices: '[]' })
      .where('id', '=', id)
      .execute();
  }

  async setState(
    id: number,
    state: ServerState,
    extra: { url?: string | null; spawnerState?: Record<string, unknown> } = {},
  ): Promise<void> {
    await this.#db
      .updateTable('servers')
      .set({
        state,
        ...(extra.url !== undefined ? { url: extra.url } : {}),
        ...(extra.spawnerState !== undefined ? { spawner_state: JSON.stringify(extra.spawnerState) } : {}),
      })
      .where('id', '=', id)
      .execute();
  }

  /** The profile version a server was started from, and the GPUs it holds (0004-profiles). */
  async setProfile(id: number, p: { name: string; version: number; gpus: readonly string[] }): Promise<void> {
    await this.#db
      .updateTable('servers')
      .set({ profile_name: p.name, profile_version: p.version, gpu_devices: JSON.stringify(p.gpus) })
      .where('id', '=', id)
      .execute();
  }

  async touch(id: number, when: Date): Promise<void> {
    await this.#db
      .updateTable('servers')
      .set({ last_activity: when })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_activity', 'is', null), eb('last_activity', '<', when)]))
      .execute();
  }

  /**
   * Remove a stopped server's record for good (a removed named server). False when it is not stopped (started
   * again meanwhile) or gone. Tokens and OAuth clients would go with it (cascade); a stopped server has none.
   */
  async deleteStopped(id: number): Promise<boolean> {
    const res = await this.#db
      .deleteFrom('servers')
      .where('id', '=', id)
      .where('state', '=', 'stopped')
      .executeTakeFirst();
    return res.numDeletedRows > 0n;
  }

  /** Every active server with its owner's name: the desired state of the proxy's route table. */
  all(): Promise<(ServerRow & { user_name: string })[]> {
    return this.#db
      .selectFrom('servers')
      .innerJoin('users', 'users.id', 'servers.user_id')
      .selectAll('servers')
      .select('users.name as user_name')
      .where('servers.state', '<>', 'stopped')
      .execute();
  }
}

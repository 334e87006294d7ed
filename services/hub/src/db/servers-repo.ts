import type { Kysely } from 'kysely';
import type { Database, ServerRow, ServerState } from './schema.ts';

export class ServersRepo {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  find(userId: number, name: string): Promise<ServerRow | undefined> {
    return this.#db
      .selectFrom('servers')
      .selectAll()
      .where('user_id', '=', userId)
      .where('name', '=', name)
      .executeTakeFirst();
  }

  forUser(userId: number): Promise<ServerRow[]> {
    return this.#db.selectFrom('servers').selectAll().where('user_id', '=', userId).orderBy('name').execute();
  }

  /** The servers of several users at once (one query for a page of users). */
  async forUsers(userIds: readonly number[]): Promise<Map<number, ServerRow[]>> {
    const out = new Map<number, ServerRow[]>();
    if (userIds.length === 0) return out;
    const rows = await this.#db
      .selectFrom('servers')
      .selectAll()
      .where('user_id', 'in', userIds)
      .orderBy('name')
      .execute();
    for (const r of rows) out.set(r.user_id, [...(out.get(r.user_id) ?? []), r]);
    return out;
  }

  /** Claim the (user, name) slot as pending. Returns undefined when a record already exists. */
  claim(userId: number, name: string): Promise<ServerRow | undefined> {
    return this.#db
      .insertInto('servers')
      .values({ user_id: userId, name, state: 'pending', spawner_state: '{}' })
      .onConflict((oc) => oc.columns(['user_id', 'name']).doNothing())
      .returningAll()
      .executeTakeFirst();
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

  async delete(id: number): Promise<void> {
    await this.#db.deleteFrom('servers').where('id', '=', id).execute();
  }

  /** Every server with its owner's name: the desired state of the proxy's route table. */
  all(): Promise<(ServerRow & { user_name: string })[]> {
    return this.#db
      .selectFrom('servers')
      .innerJoin('users', 'users.id', 'servers.user_id')
      .selectAll('servers')
      .select('users.name as user_name')
      .execute();
  }
}

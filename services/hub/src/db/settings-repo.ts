import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export type SettingKey = 'announcement';

/** Run-time settings (migration 0008-settings). Reads are cheap and uncached, so a change shows at once. */
export class SettingsRepo {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async get(key: SettingKey): Promise<string | null> {
    const row = await this.#db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.value ?? null;
  }

  async getWithMeta(
    key: SettingKey,
  ): Promise<{ value: string; updatedBy: string | null; updated: Date } | null> {
    const row = await this.#db.selectFrom('settings').selectAll().where('key', '=', key).executeTakeFirst();
    return row ? { value: row.value, updatedBy: row.updated_by, updated: new Date(row.updated) } : null;
  }

  /** Set a value; an empty value removes the setting. */
  async set(key: SettingKey, value: string, by: string): Promise<void> {
    if (value === '') {
      await this.#db.deleteFrom('settings').where('key', '=', key).execute();
      return;
    }
    await this.#db
      .insertInto('settings')
      .values({ key, value, updated_by: by, updated: new Date() })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_by: by, updated: new Date() }))
      .execute();
  }
}

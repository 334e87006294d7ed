import { type Kysely, sql } from 'kysely';
import type { ProfileSpec } from '../profiles/spec.ts';
import type { Database, ProbeStatus, ProfileSource } from './schema.ts';

/** One immutable version of a profile. */
export interface ProfileVersion {
  readonly name: string;
  readonly version: number;
  readonly spec: ProfileSpec;
  readonly retired: boolean;
  readonly source: ProfileSource;
  readonly author: string | null;
  readonly created: Date;
}

export interface ImageProbe {
  readonly image: string;
  readonly status: ProbeStatus;
  readonly jupyterhubVersion: string | null;
  readonly imageId: string | null;
  readonly detail: string;
  readonly probedAt: Date;
}

export interface NewVersion {
  readonly spec: ProfileSpec;
  readonly retired: boolean;
  readonly source: ProfileSource;
  readonly author: string | null;
}

/** Profiles and their versions. Versions are only ever inserted (the database refuses anything else). */
export class ProfilesRepo {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  #versions() {
    return this.#db
      .selectFrom('profile_versions as v')
      .innerJoin('profiles as p', 'p.id', 'v.profile_id')
      .select(['p.name', 'v.version', 'v.spec', 'v.retired', 'v.source', 'v.author', 'v.created']);
  }

  /** The newest version of every profile (retired ones included), by name. */
  async latestAll(): Promise<ProfileVersion[]> {
    const rows = await this.#versions()
      .where(
        'v.version',
        '=',
        sql<number>`(select max(v2.version) from profile_versions v2 where v2.profile_id = v.profile_id)`,
      )
      .orderBy('p.name')
      .execute();
    return rows.map(toVersion);
  }

  async latest(name: string): Promise<ProfileVersion | undefined> {
    const row = await this.#versions()
      .where('p.name', '=', name)
      .orderBy('v.version', 'desc')
      .executeTakeFirst();
    return row ? toVersion(row) : undefined;
  }

  async version(name: string, version: number): Promise<ProfileVersion | undefined> {
    const row = await this.#versions()
      .where('p.name', '=', name)
      .where('v.version', '=', version)
      .executeTakeFirst();
    return row ? toVersion(row) : undefined;
  }

  async history(name: string): Promise<ProfileVersion[]> {
    const rows = await this.#versions().where('p.name', '=', name).orderBy('v.version', 'asc').execute();
    return rows.map(toVersion);
  }

  /**
   * Add a version on top of `expected` (0: the profile must not exist yet). Returns undefined when someone
   * else added a version first, so concurrent edits never overwrite each other silently.
   */
  async append(name: string, expected: number, v: NewVersion): Promise<ProfileVersion | undefined> {
    return this.#db.transaction().execute(async (trx) => {
      let id: number | undefined;
      if (expected === 0) {
        const made = await trx
          .insertInto('profiles')
          .values({ name })
          .onConflict((oc) => oc.column('name').doNothing())
          .returning('id')
          .executeTakeFirst();
        id = made?.id;
      } else {
        const row = await trx
          .selectFrom('profiles')
          .select('id')
          .where('name', '=', name)
          .forUpdate()
          .executeTakeFirst();
        const top = row
          ? await trx
              .selectFrom('profile_versions')
              .select((eb) => eb.fn.max('version').as('v'))
              .where('profile_id', '=', row.id)
              .executeTakeFirst()
          : undefined;
        if (row && Number(top?.v) === expected) id = row.id;
      }
      if (id === undefined) return undefined;
      const inserted = await trx
        .insertInto('profile_versions')
        .values({
          profile_id: id,
          version: expected + 1,
          spec: JSON.stringify(v.spec),
          retired: v.retired,
          source: v.source,
          author: v.author,
        })
        .onConflict((oc) => oc.columns(['profile_id', 'version']).doNothing())
        .returning('created')
        .executeTakeFirst();
      if (!inserted) return undefined;
      return { name, version: expected + 1, ...v, created: inserted.created };
    });
  }

  async probes(images: readonly string[]): Promise<Map<string, ImageProbe>> {
    const out = new Map<string, ImageProbe>();
    if (images.length === 0) return out;
    const rows = await this.#db.selectFrom('image_probes').selectAll().where('image', 'in', images).execute();
    for (const r of rows) {
      out.set(r.image, {
        image: r.image,
        status: r.status,
        jupyterhubVersion: r.jupyterhub_version,
        imageId: r.image_id,
        detail: r.detail,
        probedAt: r.probed_at,
      });
    }
    return out;
  }

  async saveProbe(p: Omit<ImageProbe, 'probedAt'>): Promise<void> {
    const values = {
      image: p.image,
      status: p.status,
      jupyterhub_version: p.jupyterhubVersion,
      image_id: p.imageId,
      detail: p.detail,
      probed_at: new Date(),
    };
    await this.#db
      .insertInto('image_probes')
      .values(values)
      .onConflict((oc) => oc.column('image').doUpdateSet(values))
      .execute();
  }
}

function toVersion(r: {
  name: string;
  version: number;
  spec: Record<string, unknown>;
  retired: boolean;
  source: ProfileSource;
  author: string | null;
  created: Date;
}): ProfileVersion {
  return {
    name: r.name,
    version: r.version,
    spec: r.spec as unknown as ProfileSpec,
    retired: r.retired,
    source: r.source,
    author: r.author,
    created: r.created,
  };
}

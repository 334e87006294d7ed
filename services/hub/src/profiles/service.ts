/**
 * Profiles as the hub uses them: what admins may change (every change a new version), what a user may pick,
 * and the image checks around both. Reads go to the database every time, so edits apply without a restart.
 */
import type { Logger } from 'pino';
import type { ImageProbe, ProfilesRepo, ProfileVersion } from '../db/profiles-repo.ts';
import type { ProfileSource } from '../db/schema.ts';
import { HubError } from '../errors.ts';
import type { ImageInspector } from './images.ts';
import {
  completeSpec,
  describeIssues,
  normalize,
  type ProfileDefaults,
  type ProfileInput,
  type ProfileSpec,
  parseImagePin,
  profileInputSchema,
  profilePatchSchema,
  sameSpec,
} from './spec.ts';

/** Who makes a change: recorded on the version. */
export interface Author {
  readonly source: ProfileSource;
  readonly author: string | null;
}

/** The part of a user profiles are matched against. */
export interface ProfileUser {
  readonly name: string;
  readonly groups: readonly string[];
}

export interface ProfileServiceDeps {
  readonly repo: ProfilesRepo;
  readonly defaults: ProfileDefaults;
  readonly images?: ImageInspector;
  /** GPUs in the inventory: a profile may not ask for more. */
  readonly gpuInventorySize: number;
  /** GPUs free right now (for the spawn form). */
  readonly gpusFree?: () => number;
  /**
   * The spawner pulls a missing `repo@sha256:` image at the first start (BERTH_IMAGE_PULL_TIMEOUT_SECONDS > 0):
   * such a profile may be added before its image is on the engine. Image ids must always be there.
   */
  readonly pullsMissingDigests?: boolean;
  readonly log: Logger;
}

export function mayUse(spec: ProfileSpec, user: ProfileUser): boolean {
  return spec.groups.length === 0 || spec.groups.some((g) => user.groups.includes(g));
}

export class ProfileService {
  readonly #d: ProfileServiceDeps;
  readonly #probing = new Map<string, Promise<void>>();
  #defaultName: string | undefined;

  constructor(deps: ProfileServiceDeps) {
    this.#d = deps;
  }

  /** The profile used when a spawn names none (the file's `default`). */
  get defaultName(): string | undefined {
    return this.#defaultName;
  }

  /** Set by seeding. */
  setDefaultName(name: string | undefined): void {
    this.#defaultName = name;
  }

  list(): Promise<ProfileVersion[]> {
    return this.#d.repo.latestAll();
  }

  async get(name: string): Promise<ProfileVersion> {
    const v = await this.#d.repo.latest(name);
    if (!v) throw new HubError('PROFILE_NOT_FOUND', `no such profile: ${name}`);
    return v;
  }

  async history(name: string): Promise<ProfileVersion[]> {
    const h = await this.#d.repo.history(name);
    if (h.length === 0) throw new HubError('PROFILE_NOT_FOUND', `no such profile: ${name}`);
    return h;
  }

  gpusFree(): number {
    return this.#d.gpusFree?.() ?? 0;
  }

  probes(images: readonly string[]): Promise<Map<string, ImageProbe>> {
    return this.#d.repo.probes(images);
  }

  /** Profiles `user` may start now: not retired, and their groups allow it. */
  async usableBy(user: ProfileUser): Promise<ProfileVersion[]> {
    return (await this.list()).filter((v) => !v.retired && mayUse(v.spec, user));
  }

  /**
   * The profile version a spawn runs: the one named, or the default. Throws a 400 for a name that does not
   * exist or is retired, a 403 for one the user's groups do not allow.
   */
  async forSpawn(user: ProfileUser, requested: string | undefined): Promise<ProfileVersion> {
    if (requested === undefined) {
      const name = this.defaultName;
      const def = name ? await this.#d.repo.latest(name) : undefined;
      if (def && !def.retired && mayUse(def.spec, user)) return def;
      const all = await this.list();
      if (all.length === 0) {
        throw new HubError(
          'UNAVAILABLE',
          'no profile is defined yet (is BERTH_SINGLEUSER_IMAGE on the engine?)',
        );
      }
      // Admins retired them all: a state of the hub's data to change, not an outage (409, not 503).
      if (!all.some((v) => !v.retired)) {
        throw new HubError('CONFLICT', 'every profile is retired; an admin can restore one');
      }
      const usable = all.filter((v) => !v.retired && mayUse(v.spec, user));
      if (usable.length === 1) return usable[0] as ProfileVersion;
      if (usable.length === 0) {
        throw new HubError('PROFILE_FORBIDDEN', `${user.name} may not use any profile; ask an admin`);
      }
      throw new HubError(
        'UNKNOWN_PROFILE',
        `choose a profile: ${usable.map((v) => v.name).join(', ')} (send {"profile": "<name>"})`,
      );
    }
    const v = await this.#d.repo.latest(requested);
    if (!v) throw new HubError('UNKNOWN_PROFILE', `no such profile: ${requested}`);
    if (v.retired) throw new HubError('UNKNOWN_PROFILE', `profile ${requested} is retired`);
    if (!mayUse(v.spec, user)) {
      throw new HubError('PROFILE_FORBIDDEN', `${user.name} may not use profile ${requested}`);
    }
    return v;
  }

  async create(raw: unknown, who: Author): Promise<ProfileVersion> {
    const parsed = profileInputSchema.safeParse(raw);
    if (!parsed.success) throw new HubError('INVALID_BODY', describeIssues(parsed.error));
    const spec = completeSpec(parsed.data, this.#d.defaults);
    await this.#checkSpec(spec);
    const made = await this.#d.repo.append(parsed.data.name, 0, { spec, retired: false, ...who });
    if (!made) throw new HubError('PROFILE_EXISTS', `profile ${parsed.data.name} already exists`);
    this.#d.log.info(
      { profile: made.name, version: made.version, by: who.author, via: who.source },
      'profile added',
    );
    this.probe(spec.image);
    return made;
  }

  /** A new version with `patch` over the newest; `expectedVersion`, if given, must still be the newest (409). */
  async update(name: string, raw: unknown, who: Author, expectedVersion?: number): Promise<ProfileVersion> {
    const parsed = profilePatchSchema.safeParse(raw);
    if (!parsed.success) throw new HubError('INVALID_BODY', describeIssues(parsed.error));
    const current = await this.get(name);
    if (expectedVersion !== undefined && expectedVersion !== current.version) {
      throw new HubError(
        'CONFLICT',
        `profile ${name} is at version ${current.version}, not ${expectedVersion}`,
      );
    }
    const spec = normalize({ ...current.spec, ...parsed.data });
    // Nothing changed: no new version (a retired profile stays retired; restore() brings it back).
    if (sameSpec(current.spec, spec)) return current;
    await this.#checkSpec(spec);
    return this.#append(current, spec, current.retired, who);
  }

  async retire(name: string, who: Author): Promise<ProfileVersion> {
    const current = await this.get(name);
    if (current.retired) return current;
    return this.#append(current, current.spec, true, who);
  }

  /** Bring a retired profile back, as a new version. */
  async restore(name: string, who: Author): Promise<ProfileVersion> {
    const current = await this.get(name);
    if (!current.retired) return current;
    return this.#append(current, current.spec, false, who);
  }

  async #append(current: ProfileVersion, spec: ProfileSpec, retired: boolean, who: Author) {
    const made = await this.#d.repo.append(current.name, current.version, { spec, retired, ...who });
    if (!made) throw new HubError('CONFLICT', `profile ${current.name} changed meanwhile; try again`);
    this.#d.log.info(
      { profile: made.name, version: made.version, retired, by: who.author, via: who.source },
      'profile changed',
    );
    if (spec.image !== current.spec.image) this.probe(spec.image);
    return made;
  }

  /** Rules that need more than the shape: the GPU inventory, and the image being on the engine. */
  async #checkSpec(spec: ProfileSpec): Promise<void> {
    if (spec.gpus > this.#d.gpuInventorySize) {
      throw new HubError(
        'INVALID_BODY',
        `gpus: the profile asks for ${spec.gpus} GPUs and BERTH_GPU_DEVICES lists ${this.#d.gpuInventorySize}`,
      );
    }
    if (!this.#d.images) return;
    const info = await this.#d.images.inspect(spec.image).catch((err: unknown) => {
      throw new HubError('UNAVAILABLE', `cannot ask the container engine about the image: ${String(err)}`);
    });
    if (info) return;
    if (this.#d.pullsMissingDigests && parseImagePin(spec.image)?.kind === 'digest') return;
    throw new HubError(
      'INVALID_BODY',
      this.#d.pullsMissingDigests
        ? `image: ${spec.image} is not on the container engine (only a repository@sha256: pin is pulled at the first start)`
        : `image: ${spec.image} is not on the container engine (pulls are off: BERTH_IMAGE_PULL_TIMEOUT_SECONDS=0)`,
    );
  }

  /** Probe `image` in the background (once at a time per image); the result is stored and shown by the API. */
  probe(image: string): Promise<void> {
    const images = this.#d.images;
    if (!images) return Promise.resolve();
    const running = this.#probing.get(image);
    if (running) return running;
    const p = (async () => {
      await this.#d.repo.saveProbe({
        image,
        status: 'pending',
        jupyterhubVersion: null,
        imageId: null,
        detail: '',
      });
      const out = await images.probe(image);
      await this.#d.repo.saveProbe({
        image,
        status: out.status,
        jupyterhubVersion: out.status === 'failed' ? null : (out.version ?? null),
        imageId: out.imageId ?? null,
        detail: out.detail,
      });
      const level = out.status === 'compatible' ? 'info' : 'warn';
      this.#d.log[level]({ image, ...out }, 'image probed');
    })()
      .catch((err: unknown) => this.#d.log.warn({ image, err: String(err) }, 'image probe not recorded'))
      .finally(() => this.#probing.delete(image));
    this.#probing.set(image, p);
    return p;
  }

  /** Resolves when every probe started so far has been recorded. */
  async probesSettled(): Promise<void> {
    while (this.#probing.size > 0) await Promise.all([...this.#probing.values()]);
  }

  /**
   * Seed from configuration (docs/profiles.md). The database is the source of truth: a profile is created or
   * follows the file only while its newest version came from the file. Once an admin changed or retired it
   * through the API or the CLI, the file no longer touches it (a warning says when they differ). Profiles
   * the file dropped are retired, again only if the file made their newest version.
   */
  async seed(inputs: readonly ProfileInput[], defaultName: string | undefined): Promise<SeedReport> {
    this.#defaultName = defaultName;
    const report: SeedReport = { created: [], updated: [], retired: [], kept: [], unchanged: [] };
    const who: Author = { source: 'config', author: null };
    const byName = new Map((await this.list()).map((v) => [v.name, v]));
    for (const input of inputs) {
      const spec = completeSpec(input, this.#d.defaults);
      const current = byName.get(input.name);
      if (!current) {
        const made = await this.#d.repo.append(input.name, 0, { spec, retired: false, ...who });
        if (made) report.created.push(input.name);
      } else if (current.source !== 'config') {
        if (!sameSpec(current.spec, spec) || current.retired) {
          this.#d.log.warn(
            { profile: input.name, version: current.version, by: current.author, via: current.source },
            'profile was changed by an admin; the configuration file no longer applies to it',
          );
          report.kept.push(input.name);
        } else report.unchanged.push(input.name);
      } else if (!sameSpec(current.spec, spec) || current.retired) {
        await this.#append(current, spec, false, who);
        report.updated.push(input.name);
      } else report.unchanged.push(input.name);
    }
    const named = new Set(inputs.map((i) => i.name));
    for (const v of byName.values()) {
      if (named.has(v.name) || v.retired || v.source !== 'config') continue;
      await this.#append(v, v.spec, true, who);
      report.retired.push(v.name);
    }
    // Every image in use gets a probe result, also those seeded while no engine could be asked.
    const current = (await this.list()).filter((v) => !v.retired);
    const known = await this.probes(current.map((v) => v.spec.image));
    for (const v of current) {
      const p = known.get(v.spec.image);
      if (!p || p.status === 'pending' || p.status === 'failed') void this.probe(v.spec.image);
    }
    this.#d.log.info(report, 'profiles seeded');
    return report;
  }
}

export interface SeedReport {
  created: string[];
  updated: string[];
  retired: string[];
  /** Named by the file but changed by an admin since: left as the admin made them. */
  kept: string[];
  unchanged: string[];
}

export type { ProfileInput };

/** Profiles at hub start: where seeds come from (read before any database I/O), then the service and GPUs. */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { ProfilesRepo } from '../db/profiles-repo.ts';
import { GpuAllocator } from './gpu-allocator.ts';
import type { ImageInspector } from './images.ts';
import { legacyDefault, readProfilesFile, type SeedSource } from './seed-file.ts';
import { ProfileService } from './service.ts';

export interface ProfilesParts {
  readonly profiles: ProfileService;
  readonly gpus: GpuAllocator;
}

export type Seeds = { readonly source: SeedSource } | { readonly missing: string };

/**
 * The profiles file, or the `default` profile from BERTH_SINGLEUSER_IMAGE. Throws a ConfigError for a bad
 * file or an unpinnable image, so the hub stops before it touches the database.
 */
export async function readSeeds(config: Config, images: ImageInspector | undefined): Promise<Seeds> {
  if (config.profiles.file) return { source: await readProfilesFile(config.profiles.file) };
  return legacyDefault(config.spawner.image, images);
}

export async function bootProfiles(o: {
  config: Config;
  seeds: Seeds;
  repo: ProfilesRepo;
  images: ImageInspector | undefined;
  log: Logger;
}): Promise<ProfilesParts> {
  const s = o.config.spawner;
  const gpus = new GpuAllocator(o.config.profiles.gpuDevices);
  const profiles = new ProfileService({
    repo: o.repo,
    defaults: { cpu: s.nanoCpus / 1e9, memory: s.memoryBytes, pids: s.pids, defaultUrl: s.defaultUrl },
    ...(o.images ? { images: o.images } : {}),
    gpuInventorySize: gpus.size,
    gpusFree: () => gpus.free().length,
    pullsMissingDigests: o.config.spawner.pullTimeoutMs > 0,
    log: o.log,
  });
  if ('missing' in o.seeds) {
    // The database keeps the last pin; servers start from it until the image is back.
    o.log.error({ image: s.image }, `${o.seeds.missing}; keeping the default profile as it was`);
    profiles.setDefaultName('default');
  } else {
    await profiles.seed(o.seeds.source.inputs, o.seeds.source.defaultName);
  }
  return { profiles, gpus };
}

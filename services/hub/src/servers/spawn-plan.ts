/**
 * What a spawn asks the spawner for, from the profile version the user chose: image, limits, data volumes,
 * GPUs, egress, default URL, and the admin environment (the global one, then the profile's, merged last).
 * Without a profile (a hub built without profiles, as in some unit tests) the global settings apply.
 */
import type { ProfileVersion } from '../db/profiles-repo.ts';
import type { SpawnRequest } from '../spawner/spawner.ts';

export interface GlobalSpawnSettings {
  readonly image: string;
  readonly defaultUrl: string;
  readonly memoryBytes: number;
  readonly nanoCpus: number;
  readonly pids: number;
  readonly adminEnv: Readonly<Record<string, string>>;
}

export interface SpawnPlan {
  readonly image: string;
  readonly defaultUrl: string;
  readonly limits: { readonly memoryBytes: number; readonly nanoCpus: number; readonly pids: number };
  readonly adminEnv: Readonly<Record<string, string>>;
  /** The request fields only profiles set. */
  readonly extra: Pick<
    SpawnRequest,
    'dataVolumes' | 'gpus' | 'egress' | 'defaultUrl' | 'profile' | 'placement' | 'reservations'
  >;
}

export function spawnPlan(
  g: GlobalSpawnSettings,
  profile: ProfileVersion | undefined,
  gpus: readonly string[],
): SpawnPlan {
  if (!profile) {
    return {
      image: g.image,
      defaultUrl: g.defaultUrl,
      limits: { memoryBytes: g.memoryBytes, nanoCpus: g.nanoCpus, pids: g.pids },
      adminEnv: g.adminEnv,
      extra: {},
    };
  }
  const s = profile.spec;
  return {
    image: s.image,
    defaultUrl: s.default_url,
    limits: { memoryBytes: s.memory, nanoCpus: Math.round(s.cpu * 1e9), pids: s.pids },
    adminEnv: { ...g.adminEnv, ...s.environment },
    extra: {
      dataVolumes: s.data_volumes.map((v) => ({ volume: v.volume, mountPath: v.mount_path })),
      gpus: [...gpus],
      egress: s.internet,
      defaultUrl: s.default_url,
      profile: { name: profile.name, version: profile.version },
      ...(s.node_labels && Object.keys(s.node_labels).length > 0
        ? { placement: { nodeLabels: { ...s.node_labels } } }
        : {}),
      ...(s.reserve_cpu !== undefined || s.reserve_memory !== undefined
        ? {
            reservations: {
              ...(s.reserve_memory !== undefined ? { memoryBytes: s.reserve_memory } : {}),
              ...(s.reserve_cpu !== undefined ? { nanoCpus: Math.round(s.reserve_cpu * 1e9) } : {}),
            },
          }
        : {}),
    },
  };
}

import type { ProfileVersion } from '../db/profiles-repo.ts';
import type { ProfileChoice } from './spawn-pages.ts';

/** What the picker needs from the profiles service and the GPU inventory. */
export interface ProfileSource {
  usableBy(user: { name: string; groups: readonly string[] }): Promise<ProfileVersion[]>;
  readonly defaultName: string | undefined;
}

export interface GpuInventory {
  free(): string[];
}

const GiB = 1024 ** 3;

function size(bytes: number): string {
  if (bytes >= GiB) return `${Number((bytes / GiB).toFixed(1))} GiB`;
  return `${Math.round(bytes / 1024 ** 2)} MiB`;
}

/** A profile version as the picker shows it, with whether its GPUs are free right now. */
export function choiceOf(
  v: ProfileVersion,
  freeGpus: number,
  defaultName: string | undefined,
): ProfileChoice {
  const s = v.spec;
  const cpus = `${Number(s.cpu.toFixed(3))} CPU${s.cpu === 1 ? '' : 's'}`;
  const gpu =
    s.gpus > 0
      ? {
          available: freeGpus >= s.gpus,
          text:
            freeGpus >= s.gpus
              ? `${s.gpus} GPU${s.gpus === 1 ? '' : 's'} (${freeGpus} free)`
              : `${s.gpus} GPU${s.gpus === 1 ? '' : 's'}: none free right now`,
        }
      : undefined;
  return {
    name: v.name,
    displayName: s.display_name,
    description: s.description,
    resources: `${cpus} · ${size(s.memory)} memory${s.internet ? ' · internet access' : ''}`,
    ...(gpu ? { gpu } : {}),
    ...(v.name === defaultName ? { default: true } : {}),
  };
}

/**
 * The profiles `user` may start, as the picker shows them. The picker appears only when there is a choice
 * (two or more); with one or none, starting uses the default profile (or the configured image).
 */
export async function profileChoices(
  profiles: ProfileSource | undefined,
  gpus: GpuInventory | undefined,
  user: { name: string; groups: readonly string[] },
): Promise<ProfileChoice[]> {
  if (!profiles) return [];
  const usable = await profiles.usableBy(user);
  const free = gpus?.free().length ?? 0;
  // The default first, the rest in the service's order.
  return usable
    .map((v) => choiceOf(v, free, profiles.defaultName))
    .sort((a, b) => Number(b.default === true) - Number(a.default === true));
}

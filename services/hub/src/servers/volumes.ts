/**
 * Volume lifecycle on user deletion: the configured policy (BERTH_VOLUME_ON_USER_DELETE), or an admin's
 * per-request choice, applied to every home volume of the user through the spawner.
 *
 * - `archive` (default): each home volume is copied into a labelled archive volume and then removed. Nothing is
 *   lost, and a new user of the same name starts empty instead of inheriting the files.
 * - `delete`: the home volumes are removed.
 * - `keep`: nothing is touched; a new user of the same name gets the old files back.
 */
import type { Logger } from 'pino';
import type { Spawner, StorageOutcome } from '../spawner/spawner.ts';

export const VOLUME_POLICIES = ['archive', 'delete', 'keep'] as const;
export type VolumePolicy = (typeof VOLUME_POLICIES)[number];

export const isVolumePolicy = (v: unknown): v is VolumePolicy =>
  typeof v === 'string' && (VOLUME_POLICIES as readonly string[]).includes(v);

export interface DisposeReport {
  readonly policy: VolumePolicy;
  readonly volumes: readonly StorageOutcome[];
  /** False when the spawner cannot archive or delete storage: the volumes were kept. */
  readonly supported: boolean;
}

export class VolumeLifecycle {
  readonly #spawner: Spawner;
  readonly #log: Logger;
  readonly policy: VolumePolicy;

  constructor(deps: { spawner: Spawner; policy: VolumePolicy; log: Logger }) {
    this.#spawner = deps.spawner;
    this.policy = deps.policy;
    this.#log = deps.log;
  }

  /**
   * Apply the policy to a user whose servers are all stopped, before the user's record is deleted. Rejects
   * when the spawner fails; whatever it did not finish is still in place, so nothing is lost.
   */
  async onUserDeleted(user: string, override?: VolumePolicy): Promise<DisposeReport> {
    const policy = override ?? this.policy;
    if (policy === 'keep') return { policy, volumes: [], supported: true };
    if (!this.#spawner.disposeStorage) {
      this.#log.warn({ user, policy }, 'this spawner cannot archive or delete storage; volumes kept');
      return { policy, volumes: [], supported: false };
    }
    const volumes = await this.#spawner.disposeStorage(user, policy);
    this.#log.info({ user, policy, volumes }, 'home volumes of a deleted user');
    return { policy, volumes, supported: true };
  }

  /**
   * The same for one removed named server's home volume (`DELETE …/servers/{name}` with `{"remove": true}`):
   * the configured policy, or the caller's choice. Rejects when the spawner fails; the volume is then in place.
   */
  async onServerRemoved(user: string, serverName: string, override?: VolumePolicy): Promise<DisposeReport> {
    const policy = override ?? this.policy;
    if (policy === 'keep') return { policy, volumes: [], supported: true };
    if (!this.#spawner.disposeStorage) {
      this.#log.warn(
        { user, serverName, policy },
        'this spawner cannot archive or delete storage; volume kept',
      );
      return { policy, volumes: [], supported: false };
    }
    const volumes = await this.#spawner.disposeStorage(user, policy, serverName);
    this.#log.info({ user, serverName, policy, volumes }, 'home volume of a removed server');
    return { policy, volumes, supported: true };
  }
}

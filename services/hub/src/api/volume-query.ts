import { HubError } from '../errors.ts';
import { isVolumePolicy, type VolumePolicy } from '../servers/volumes.ts';

/**
 * `DELETE /hub/api/users/{name}?volumes=archive|delete|keep`: an admin's choice for this deletion instead of
 * BERTH_VOLUME_ON_USER_DELETE. Undefined when not given; anything else is a 400.
 */
export function volumePolicyOverride(query: unknown): VolumePolicy | undefined {
  const v = (query as { volumes?: unknown } | null | undefined)?.volumes;
  if (v === undefined) return undefined;
  if (!isVolumePolicy(v)) throw new HubError('BAD_REQUEST', 'volumes must be one of archive, delete or keep');
  return v;
}

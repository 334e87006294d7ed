import type { UserRow } from '../db/schema.ts';
import { HubError } from '../errors.ts';
import type { ServerManager } from './manager.ts';
import type { DisposeReport, VolumeLifecycle, VolumePolicy } from './volumes.ts';

/**
 * Remove a named server for good (JupyterHub's `DELETE …/servers/{name}` with `{"remove": true}`; the home
 * page's Delete): stop it if it is active, delete its record, then archive, delete or keep its home volume
 * (`volumes`, or the configured BERTH_VOLUME_ON_USER_DELETE). Shared by the API and the home page.
 *
 * Coded errors: SERVER_NOT_FOUND (no such server), BAD_REQUEST (the default server), CONFLICT (started again
 * meanwhile), UNAVAILABLE (the record is gone but the volume could not be handled: it stays, nothing lost).
 */
export async function removeNamedServer(
  deps: { readonly lifecycle: ServerManager; readonly volumes: VolumeLifecycle },
  user: UserRow,
  serverName: string,
  volumes: VolumePolicy | undefined,
): Promise<DisposeReport> {
  if (serverName === '') throw new HubError('BAD_REQUEST', 'Cannot delete the default server');
  const out = await deps.lifecycle.remove(user, serverName);
  if (out === 'not-found') {
    throw new HubError('SERVER_NOT_FOUND', `${user.name} has no server named '${serverName}'`);
  }
  if (out === 'busy') throw new HubError('CONFLICT', `${serverName} was started again; stop it first`);
  return deps.volumes.onServerRemoved(user.name, serverName, volumes).catch((err: unknown) => {
    const why = err instanceof Error ? err.message : String(err);
    throw new HubError(
      'UNAVAILABLE',
      `${serverName} was removed, but its home volume could not be handled and was kept (${why})`,
    );
  });
}

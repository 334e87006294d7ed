/**
 * Validation of the identifiers that end up in Docker API paths (`/containers/<ref>/json`,
 * `/images/<ref>/json`). State comes from the hub's database and images from the admin's profiles, but a
 * value with `/`, `?` or `..` could address another endpoint, so anything unexpected is refused.
 */
import type { SpawnerState } from '../spawner.ts';

const CONTAINER_ID = /^[a-f0-9]{12,64}$/;
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const IMAGE_REF = /^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/;

export function isValidImageRef(image: string): boolean {
  return IMAGE_REF.test(image) && !image.includes('..') && image.length <= 512;
}

/**
 * The reference to address a container by: its id, else its name. `undefined` when the state names no
 * container (nothing was ever created), `null` when it holds something malformed.
 */
export function containerRef(state: SpawnerState): string | null | undefined {
  const { containerId: id, containerName: name } = state;
  if (id !== undefined && id !== null) return typeof id === 'string' && CONTAINER_ID.test(id) ? id : null;
  if (name !== undefined && name !== null)
    return typeof name === 'string' && CONTAINER_NAME.test(name) ? name : null;
  return undefined;
}

/** The state's per-server network name, if it holds a well-formed one. */
export function networkRef(state: SpawnerState): string | undefined {
  const name = state.networkName;
  return typeof name === 'string' && CONTAINER_NAME.test(name) && name.endsWith('-net') ? name : undefined;
}

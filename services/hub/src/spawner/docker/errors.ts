/** Reading dockerode errors: HTTP status codes from the engine, or none when the engine is unreachable. */
import { SpawnError, type SpawnerState } from '../spawner.ts';

export function statusCodeOf(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export function isNotFound(err: unknown): boolean {
  return statusCodeOf(err) === 404;
}

/** The engine's own message when it sent one, else the error's; never includes request bodies or env. */
export function errorMessage(err: unknown): string {
  const json = (err as { json?: { message?: unknown } } | null)?.json;
  if (typeof json?.message === 'string') return json.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Maps an unexpected error during start to a SpawnError: no HTTP status means the engine is unreachable. */
export function toSpawnError(err: unknown, what: string, state?: SpawnerState): SpawnError {
  if (err instanceof SpawnError) return err;
  const code = statusCodeOf(err) === undefined ? 'BACKEND_UNAVAILABLE' : 'START_FAILED';
  return new SpawnError(code, `${what}: ${errorMessage(err)}`, state);
}

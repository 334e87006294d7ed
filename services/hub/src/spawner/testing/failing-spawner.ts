/** A Spawner whose start() always rejects with START_FAILED (or another code); nothing ever runs. */
import {
  SpawnError,
  type SpawnErrorCode,
  type Spawner,
  type SpawnerState,
  type SpawnerStatus,
  type SpawnRequest,
  type Started,
} from '../spawner.ts';

export class FailingSpawner implements Spawner {
  readonly code: SpawnErrorCode;
  readonly message: string;
  /** How many times start() was called. */
  attempts = 0;

  constructor(options: { code?: SpawnErrorCode; message?: string } = {}) {
    this.code = options.code ?? 'START_FAILED';
    this.message = options.message ?? 'the backend refused to start the server';
  }

  async start(_req: SpawnRequest, _signal?: AbortSignal): Promise<Started> {
    this.attempts++;
    throw new SpawnError(this.code, this.message);
  }

  async stop(_state: SpawnerState): Promise<void> {}

  async status(_state: SpawnerState): Promise<SpawnerStatus> {
    return { state: 'stopped' };
  }
}

/** A Spawner whose server dies right after start: start() rejects EXITED_EARLY, and logs() explains why. */
import {
  SpawnError,
  type Spawner,
  type SpawnerState,
  type SpawnerStatus,
  type SpawnRequest,
  type Started,
} from '../spawner.ts';

export class ExitsEarlySpawner implements Spawner {
  readonly exitCode: number;
  readonly oomKilled: boolean;
  readonly output: string;
  attempts = 0;

  constructor(options: { exitCode?: number; oomKilled?: boolean; output?: string } = {}) {
    this.exitCode = options.exitCode ?? 1;
    this.oomKilled = options.oomKilled ?? false;
    this.output = options.output ?? 'error: the server crashed on start';
  }

  async start(req: SpawnRequest, _signal?: AbortSignal): Promise<Started> {
    this.attempts++;
    const state = {
      id: `early-${this.attempts}`,
      user: req.user,
      exitCode: this.exitCode,
      oomKilled: this.oomKilled,
    };
    throw new SpawnError('EXITED_EARLY', `server exited right after start with code ${this.exitCode}`, state);
  }

  async stop(_state: SpawnerState): Promise<void> {}

  async status(_state: SpawnerState): Promise<SpawnerStatus> {
    return { state: 'stopped', exitCode: this.exitCode, oomKilled: this.oomKilled };
  }

  async logs(_state: SpawnerState, tail: number): Promise<string> {
    return this.output.split('\n').slice(-tail).join('\n');
  }
}

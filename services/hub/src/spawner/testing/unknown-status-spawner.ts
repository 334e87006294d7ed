/**
 * A Spawner whose backend cannot be asked: start() and stop() work (in memory), but status() answers
 * `unknown` while `unreachable` is true. The hub must never take that for "stopped" and reap the server.
 */
import type {
  ManagedServer,
  Spawner,
  SpawnerState,
  SpawnerStatus,
  SpawnRequest,
  Started,
} from '../spawner.ts';
import { InMemorySpawner } from './in-memory-spawner.ts';

export class UnknownStatusSpawner implements Spawner {
  readonly inner: InMemorySpawner;
  readonly error: string;
  unreachable = true;

  constructor(options: { error?: string; inner?: InMemorySpawner } = {}) {
    this.error = options.error ?? 'backend unreachable';
    this.inner = options.inner ?? new InMemorySpawner();
  }

  start(req: SpawnRequest, signal?: AbortSignal): Promise<Started> {
    return this.inner.start(req, signal);
  }

  stop(state: SpawnerState): Promise<void> {
    return this.inner.stop(state);
  }

  async status(state: SpawnerState): Promise<SpawnerStatus> {
    return this.unreachable ? { state: 'unknown', error: this.error } : this.inner.status(state);
  }

  /** Rejects while unreachable: the backend cannot be asked, which is not the same as "it holds nothing". */
  async list(filter?: { user?: string; serverName?: string }): Promise<ManagedServer[]> {
    if (this.unreachable) throw new Error(this.error);
    return this.inner.list(filter);
  }
}

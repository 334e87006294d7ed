/** A Spawner whose start() takes `delayMs` before delegating; aborting during the delay starts nothing. */
import { setTimeout as delay } from 'node:timers/promises';
import { SpawnError, type Spawner, type SpawnerState, type SpawnRequest, type Started } from '../spawner.ts';
import { InMemorySpawner } from './in-memory-spawner.ts';

export class SlowSpawner implements Spawner {
  readonly delayMs: number;
  readonly inner: InMemorySpawner;
  /** Starts currently waiting out their delay. */
  pending = 0;

  constructor(options: { delayMs: number; inner?: InMemorySpawner }) {
    this.delayMs = options.delayMs;
    this.inner = options.inner ?? new InMemorySpawner();
  }

  async start(req: SpawnRequest, signal?: AbortSignal): Promise<Started> {
    this.pending++;
    try {
      await delay(this.delayMs, undefined, signal ? { signal } : {});
    } catch {
      throw new SpawnError('ABORTED', 'start was aborted');
    } finally {
      this.pending--;
    }
    return this.inner.start(req, signal);
  }

  stop(state: SpawnerState) {
    return this.inner.stop(state);
  }

  status(state: SpawnerState) {
    return this.inner.status(state);
  }

  logs(state: SpawnerState, tail: number) {
    return this.inner.logs(state, tail);
  }

  list(filter?: { user?: string; serverName?: string }) {
    return this.inner.list(filter);
  }
}

/** A correct, in-memory Spawner for hub-logic tests: no processes, just bookkeeping that follows the contract. */
import { containerName } from '../names.ts';
import {
  type ManagedServer,
  SpawnError,
  type Spawner,
  type SpawnerState,
  type SpawnerStatus,
  type SpawnRequest,
  type Started,
} from '../spawner.ts';

export interface InMemoryServer {
  readonly id: string;
  readonly request: SpawnRequest;
  running: boolean;
  exitCode?: number;
  oomKilled?: boolean;
  readonly output: string[];
}

/** What a real engine would hold; share one between spawner instances to simulate a hub restart. */
export type InMemoryBackend = Map<string, InMemoryServer>;

export class InMemorySpawner implements Spawner {
  readonly backend: InMemoryBackend;
  /** Every request start() was called with, in order. */
  readonly requests: SpawnRequest[] = [];

  constructor(options: { backend?: InMemoryBackend } = {}) {
    this.backend = options.backend ?? new Map();
  }

  async start(req: SpawnRequest, signal?: AbortSignal): Promise<Started> {
    this.requests.push(req);
    await Promise.resolve();
    if (signal?.aborted) throw new SpawnError('ABORTED', 'start was aborted');
    const existing = this.find(req.user, req.serverName);
    if (existing?.running) {
      throw new SpawnError('START_FAILED', 'server is already running', this.#stateOf(existing));
    }
    if (existing) this.backend.delete(existing.id);
    const server: InMemoryServer = {
      id: `mem-${crypto.randomUUID()}`,
      request: req,
      running: true,
      output: [`started ${req.user}/${req.serverName} with ${Object.keys(req.env).length} env vars`],
    };
    this.backend.set(server.id, server);
    return {
      url: this.#url(req),
      state: this.#stateOf(server),
    };
  }

  async stop(state: SpawnerState): Promise<void> {
    const server = this.#get(state);
    if (server) this.backend.delete(server.id);
  }

  async status(state: SpawnerState): Promise<SpawnerStatus> {
    if (state.id !== undefined && typeof state.id !== 'string')
      return { state: 'unknown', error: 'malformed state' };
    const server = this.#get(state);
    if (!server) return { state: 'stopped' };
    if (server.running) return { state: 'running' };
    return { state: 'stopped', exitCode: server.exitCode ?? 0, oomKilled: server.oomKilled ?? false };
  }

  async logs(state: SpawnerState, tail: number): Promise<string> {
    return tail > 0 ? (this.#get(state)?.output.slice(-tail).join('\n') ?? '') : '';
  }

  async list(filter: { user?: string; serverName?: string } = {}): Promise<ManagedServer[]> {
    return [...this.backend.values()]
      .filter((s) => filter.user === undefined || s.request.user === filter.user)
      .filter((s) => filter.serverName === undefined || s.request.serverName === filter.serverName)
      .map((s) => ({
        user: s.request.user,
        serverName: s.request.serverName,
        running: s.running,
        url: this.#url(s.request),
        state: this.#stateOf(s),
      }));
  }

  /** Test control: the server's process dies with `exitCode`. */
  crash(state: SpawnerState, exitCode = 1, oomKilled = false): void {
    const server = this.#get(state);
    if (!server) throw new Error('no such server');
    server.running = false;
    server.exitCode = exitCode;
    server.oomKilled = oomKilled;
    server.output.push(`exited with ${exitCode}`);
  }

  /** The server of `user`/`serverName`, running or not, if the backend holds one. */
  find(user: string, serverName: string): InMemoryServer | undefined {
    for (const s of this.backend.values()) {
      if (s.request.user === user && s.request.serverName === serverName) return s;
    }
    return undefined;
  }

  /** How many servers are running. */
  get runningCount(): number {
    return [...this.backend.values()].filter((s) => s.running).length;
  }

  #url(req: SpawnRequest): string {
    return `http://${containerName('mem', req.user, req.serverName)}:${req.port}`;
  }

  #stateOf(server: InMemoryServer): SpawnerState {
    return { id: server.id, user: server.request.user, serverName: server.request.serverName };
  }

  #get(state: SpawnerState): InMemoryServer | undefined {
    return typeof state.id === 'string' ? this.backend.get(state.id) : undefined;
  }
}

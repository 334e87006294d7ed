/**
 * The Spawner contract: the only thing a container backend implements.
 *
 * Lifecycle rules (single-flight, timeouts, readiness polling, progress, proxy routes, tokens) live in
 * `servers/`, around the spawner, never inside an implementation. A spawner only turns a fully-resolved
 * request into a running process and reports on it.
 */

/** Everything a spawner needs, already resolved and validated by the hub. Users never set any of it directly. */
export interface SpawnRequest {
  /** Normalized user name. */
  readonly user: string;
  /** Server name, '' for the default server. */
  readonly serverName: string;
  /** The profile's pinned image (`repo@sha256:…` or `sha256:<id>`); the spawner checks the pin before every start. */
  readonly image: string;
  /** The complete environment (PROTOCOL.md), admin env already merged. */
  readonly env: Readonly<Record<string, string>>;
  /** Port the single-user server binds inside the container (must match JUPYTERHUB_SERVICE_URL). */
  readonly port: number;
  /** Resource limits; undefined means the spawner's configured default. */
  readonly limits?: {
    readonly memoryBytes?: number;
    readonly nanoCpus?: number;
    readonly pids?: number;
  };
  /** Named volumes the profile adds, always mounted read-only. Never host paths. */
  readonly dataVolumes?: readonly DataVolume[];
  /** GPU devices (as BERTH_GPU_DEVICES names them) this server holds alone. None when absent. */
  readonly gpus?: readonly string[];
  /** Outbound internet allowed (the profile's `internet`). Absent means no. */
  readonly egress?: boolean;
  /** Where the server opens, e.g. /lab (also in env as JUPYTERHUB_DEFAULT_URL). */
  readonly defaultUrl?: string;
  /**
   * Where the server may run, for backends with several machines (Swarm): the node labels a node must carry.
   * A single-host backend has nowhere else to go and ignores it.
   */
  readonly placement?: { readonly nodeLabels?: Readonly<Record<string, string>> };
  /** What a multi-machine backend sets aside for the server when placing it (Swarm reservations). */
  readonly reservations?: { readonly memoryBytes?: number; readonly nanoCpus?: number };
  /** The profile version the request was resolved from, for labels and logs. */
  readonly profile?: { readonly name: string; readonly version: number };
}

export interface DataVolume {
  /** A Docker volume name (or the backend's equivalent): no slash, so never a host path. */
  readonly volume: string;
  readonly mountPath: string;
}

/** Opaque, JSON-serializable state the hub persists so it can find the server again after a restart. */
export type SpawnerState = Readonly<Record<string, string | number | boolean | null>>;

export interface Started {
  /** Where the hub and the proxy reach the server, e.g. http://berth-alice:8888 (no path). */
  readonly url: string;
  readonly state: SpawnerState;
}

/** Outcomes as a discriminated union: "unknown" must never be taken for "stopped". */
export type SpawnerStatus =
  | { readonly state: 'running' }
  | { readonly state: 'stopped'; readonly exitCode?: number; readonly oomKilled?: boolean }
  | { readonly state: 'unknown'; readonly error: string };

/** What to do with a deleted user's storage (`keep` never reaches the spawner). */
export type StorageAction = 'archive' | 'delete';

/** What happened to one volume of a deleted user. */
export type StorageOutcome =
  | { readonly volume: string; readonly action: 'archived'; readonly archive: string }
  | { readonly volume: string; readonly action: 'deleted' };

/** Scratch space for one sweep: `once` runs `load` for the first caller of `key` and shares its result. */
export interface SweepCache {
  once<T>(key: string, load: () => Promise<T>): Promise<T>;
}

/** A server the backend holds, found by its labels: what the hub reattaches to after a restart. */
export interface ManagedServer {
  readonly user: string;
  readonly serverName: string;
  readonly running: boolean;
  /** Where the server is reached (no path); undefined when the backend cannot tell. */
  readonly url: string | undefined;
  /** The same kind of state start() returns, to hand to status(), stop() and logs(). */
  readonly state: SpawnerState;
}

/** A step of a start the backend reports (e.g. "waiting for a node that fits"); the hub shows it as progress. */
export type SpawnProgress = (message: string) => void;

export interface Spawner {
  /**
   * Create and start the server. Rejects with a SpawnError. Honors `signal` by cleaning up what it made.
   * `progress`, when given, hears the backend's own steps (optional: a backend may report none).
   */
  start(req: SpawnRequest, signal?: AbortSignal, progress?: SpawnProgress): Promise<Started>;
  /** Stop and remove the server's process. Keeps persistent storage. Idempotent: a missing server is fine. */
  stop(state: SpawnerState): Promise<void>;
  /** Report what the backend sees now. Never throws: failures are `unknown`. */
  status(state: SpawnerState): Promise<SpawnerStatus>;
  /** Last lines of the server's output, for failed spawns. Optional capability. */
  logs?(state: SpawnerState, tail: number): Promise<string>;
  /**
   * Every server of this deployment the backend holds, running or not. Optional capability: with it, the hub
   * finds servers whose state it never persisted (a crash mid-spawn) and removes ones it no longer knows.
   * Rejects when the backend cannot be asked; an empty list means there are none.
   */
  list?(filter?: { user?: string; serverName?: string }): Promise<ManagedServer[]>;
  /**
   * Make a server the hub found running after a restart reachable again (e.g. reconnect a recreated proxy to
   * its network). Idempotent. Optional capability. `cache` lives for one sweep over all servers: what every
   * server needs is looked up once per sweep, not once per server.
   */
  reattach?(state: SpawnerState, cache?: SweepCache): Promise<void>;
  /**
   * The user was deleted: archive or delete their persistent storage (every server's), or, with `serverName`,
   * only that server's (a removed named server). Called only once none of those servers runs. Rejects on
   * failure; what was not finished stays in place. Optional capability.
   */
  disposeStorage?(user: string, action: StorageAction, serverName?: string): Promise<StorageOutcome[]>;
}

export type SpawnErrorCode =
  | 'IMAGE_NOT_FOUND'
  /** The image is not pinned, or the engine's image under that reference is not the pinned one. */
  | 'IMAGE_MISMATCH'
  /** The image was pulled by its digest and the registry refused or does not have it. */
  | 'IMAGE_PULL_FAILED'
  /** Pulling the image took longer than the pull timeout (separate from the start timeout). */
  | 'IMAGE_PULL_TIMEOUT'
  /** A profile's data volume does not exist (it is never created on the fly). */
  | 'DATA_VOLUME_NOT_FOUND'
  /** The GPUs the request names are not usable. */
  | 'GPU_UNAVAILABLE'
  | 'START_FAILED'
  | 'EXITED_EARLY'
  | 'ABORTED'
  | 'BACKEND_UNAVAILABLE';

export class SpawnError extends Error {
  readonly code: SpawnErrorCode;
  readonly state: SpawnerState | undefined;
  constructor(code: SpawnErrorCode, message: string, state?: SpawnerState) {
    super(message);
    this.name = 'SpawnError';
    this.code = code;
    this.state = state;
  }
}

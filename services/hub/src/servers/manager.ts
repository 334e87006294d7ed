import type { Logger } from 'pino';
import type { OAuthRepo } from '../db/oauth-repo.ts';
import type { ProfileVersion } from '../db/profiles-repo.ts';
import type { ServerRow, UserRow } from '../db/schema.ts';
import type { ServersRepo } from '../db/servers-repo.ts';
import type { TokensRepo } from '../db/tokens-repo.ts';
import type { GpuAllocator, GpuOutcome } from '../profiles/gpu-allocator.ts';
import type { ProfileUser } from '../profiles/service.ts';
import type { RouteTable } from '../proxy/client.ts';
import { diffRoutes } from '../proxy/diff.ts';
import { hashToken, newSecret } from '../sessions/tokens.ts';
import {
  type ManagedServer,
  SpawnError,
  type Spawner,
  type SpawnerState,
  type SpawnerStatus,
} from '../spawner/spawner.ts';
import { singleUserEnv } from './env.ts';
import { accessScope, oauthClientId, serverPrefix } from './naming.ts';
import { spawnPlan } from './spawn-plan.ts';
import { sweepCache } from './sweep-cache.ts';
import { pathUserHosts, type UserHosts } from './user-hosts.ts';
import { type ReadyOutcome, type WaitOptions, waitForServer } from './wait-ready.ts';

export interface LifecycleConfig {
  readonly image: string;
  readonly port: number;
  readonly hubApiUrl: string;
  readonly publicUrl: string;
  /** Per-user subdomains (BERTH_SUBDOMAIN_HOST); paths on the hub's origin when absent. */
  readonly userHosts?: UserHosts;
  readonly defaultUrl: string;
  readonly startTimeoutMs: number;
  readonly httpTimeoutMs: number;
  readonly memoryBytes: number;
  readonly nanoCpus: number;
  readonly pids: number;
  readonly adminEnv: Readonly<Record<string, string>>;
  /** How long a start request waits before answering "pending" (JupyterHub's slow_spawn_timeout). */
  readonly slowSpawnMs: number;
  /** Spawns in flight at once before new ones are refused with 429 (JupyterHub's concurrent_spawn_limit). 0: none. */
  readonly concurrentSpawnLimit?: number;
  /** Servers running or starting, over all users, before new ones are refused with 429. 0: none. */
  readonly activeServerLimit?: number;
  /** Servers (default and named) one user may have running or starting at once. 0: none. */
  readonly serversPerUserLimit?: number;
}

export type StartOutcome =
  | { readonly status: 'ready'; readonly server: ServerRow }
  | { readonly status: 'pending' }
  | { readonly status: 'failed'; readonly code: string; readonly message: string }
  | {
      readonly status: 'refused';
      readonly code: 'TOO_MANY_SPAWNS' | 'ACTIVE_SERVER_LIMIT' | 'USER_SERVER_LIMIT' | 'NO_GPU_AVAILABLE';
      readonly message: string;
      /** For 429s: when to try again. */
      readonly retryAfterSeconds?: number;
    };

/** One step of a spawn, in JupyterHub's progress event shape (served as server-sent events). */
export interface ProgressEvent {
  readonly progress: number;
  readonly message: string;
  readonly ready?: boolean;
  readonly failed?: boolean;
  /** With `ready`: where the server is, e.g. /user/alice/. */
  readonly url?: string;
}

type Refusal = StartOutcome & { readonly status: 'refused' };

interface Flight {
  promise: Promise<StartOutcome>;
  readonly abort: AbortController;
  readonly events: ProgressEvent[];
  readonly waiters: Set<() => void>;
}

export type StopOutcome = { readonly status: 'stopped' } | { readonly status: 'not-running' };

/** The last failure per server, shown to the user on the next page they load. */
export interface SpawnFailure {
  readonly code: string;
  readonly message: string;
  readonly logs?: string;
}

/** What a sweep (at hub start, then on every poll) found and did. */
export interface SweepReport {
  /** Running servers the backend still runs: left alone, reattached. */
  readonly kept: number;
  /** Servers whose process is gone: route, token, OAuth client and record removed. */
  readonly reaped: number;
  /** Pending records no start in this process owns (a crash mid-spawn): being finished now. */
  readonly resumed: number;
  /** Records left `stopping` by a crash: the stop was finished. */
  readonly finishedStops: number;
  /** Backend servers without a record: stopped and removed (their tokens no longer exist). */
  readonly orphans: number;
  /** Servers whose status is unknown: never reaped, asked again at the next poll. */
  readonly unknown: number;
}

/** The minimum of a user the lifecycle needs. */
type Owner = Pick<UserRow, 'id' | 'name'>;

const hasState = (s: unknown): s is SpawnerState =>
  typeof s === 'object' && s !== null && Object.keys(s).length > 0;

/**
 * The whole server lifecycle, in one place: stopped → pending → running → stopping. Start and stop are
 * single-flight per (user, server); spawners only do backend calls.
 */
export class ServerManager {
  readonly #servers: ServersRepo;
  readonly #tokens: TokensRepo;
  readonly #oauth: OAuthRepo;
  readonly #spawner: Spawner;
  readonly #routes: RouteTable;
  readonly #cfg: LifecycleConfig;
  readonly #log: Logger;
  readonly #inflight = new Map<string, Flight>();
  readonly #stopping = new Map<string, Promise<StopOutcome>>();
  readonly #failures = new Map<string, SpawnFailure>();
  readonly #waitReady: (o: WaitOptions) => Promise<ReadyOutcome>;
  readonly #profiles:
    | { forSpawn(user: ProfileUser, requested: string | undefined): Promise<ProfileVersion> }
    | undefined;
  readonly #gpus: GpuAllocator | undefined;
  #sweeping: Promise<SweepReport> | undefined;

  get #hosts(): UserHosts {
    return this.#cfg.userHosts ?? pathUserHosts;
  }

  constructor(deps: {
    servers: ServersRepo;
    tokens: TokensRepo;
    oauth: OAuthRepo;
    spawner: Spawner;
    routes: RouteTable;
    config: LifecycleConfig;
    log: Logger;
    /** Readiness check; tests replace it. Defaults to polling `<url><prefix>api`. */
    waitReady?: (o: WaitOptions) => Promise<ReadyOutcome>;
    /** Image profiles: the version a spawn runs (docs/profiles.md). Without it, the global settings apply. */
    profiles?: { forSpawn(user: ProfileUser, requested: string | undefined): Promise<ProfileVersion> };
    /** GPUs for profiles that ask for them. Without it, such profiles cannot start. */
    gpus?: GpuAllocator;
  }) {
    this.#profiles = deps.profiles;
    this.#gpus = deps.gpus;
    this.#waitReady = deps.waitReady ?? waitForServer;
    this.#servers = deps.servers;
    this.#tokens = deps.tokens;
    this.#oauth = deps.oauth;
    this.#spawner = deps.spawner;
    this.#routes = deps.routes;
    this.#cfg = deps.config;
    this.#log = deps.log;
  }

  #key(user: Owner, name: string): string {
    return `${user.id}/${name}`;
  }

  isPending(user: Owner, name: string): boolean {
    return this.#inflight.has(this.#key(user, name));
  }

  lastFailure(user: Owner, name: string): SpawnFailure | undefined {
    return this.#failures.get(this.#key(user, name));
  }

  /** Start (or join the start of) a server. Resolves "pending" if not ready within slowSpawnMs. */
  /**
   * Start (or join the start of) a server. Resolves "pending" if not ready within slowSpawnMs. `choice.profile`
   * names the profile (the default one when absent); a profile that does not exist, is retired or is not the
   * user's to use throws a 4xx HubError before anything is started.
   */
  async start(user: UserRow, name: string, choice: { profile?: string } = {}): Promise<StartOutcome> {
    const key = this.#key(user, name);
    const existing = await this.#servers.find(user.id, name);
    if (existing?.state === 'running' && !this.#stopping.has(key)) {
      // A server that died since the last poll is cleaned up here and started again, not reported ready.
      const seen = await this.#spawner.status(existing.spawner_state as SpawnerState);
      if (seen.state !== 'stopped') return { status: 'ready', server: existing };
      await this.#reap(existing, user, seen);
    }
    if (this.#stopping.has(key)) await this.#stopping.get(key);
    const profile = await this.#profiles?.forSpawn(user, choice.profile);
    let flight = this.#inflight.get(key);
    if (!flight) {
      // The concurrency check comes last, with no await between it and registering the flight.
      const refused = (await this.#checkActiveLimits(user, name)) ?? this.#checkConcurrency();
      if (refused) {
        this.#fail(key, refused.code, refused.message);
        return refused;
      }
      // GPUs are taken synchronously too, so two spawns can never be handed the same device.
      const gpus = this.#takeGpus(key, profile);
      if (!gpus.ok) {
        this.#fail(key, 'NO_GPU_AVAILABLE', gpus.message);
        return { status: 'refused', code: 'NO_GPU_AVAILABLE', message: gpus.message };
      }
      // Checked again after the awaits above, so two callers cannot both start a flight.
      flight =
        this.#inflight.get(key) ??
        this.#fly(key, (signal) => this.#spawn(user, name, signal, profile, gpus.devices));
    }
    const timer = new Promise<StartOutcome>((r) =>
      setTimeout(() => r({ status: 'pending' }), this.#cfg.slowSpawnMs).unref(),
    );
    return Promise.race([flight.promise, timer]);
  }

  #takeGpus(key: string, profile: ProfileVersion | undefined): GpuOutcome {
    const count = profile?.spec.gpus ?? 0;
    if (count === 0) return { ok: true, devices: [] };
    if (!this.#gpus) return { ok: false, message: 'this hub has no GPUs (BERTH_GPU_DEVICES is empty)' };
    return this.#gpus.allocate(key, count);
  }

  /** Registers an in-flight start; its progress events end with a ready or failed event. */
  #fly(key: string, run: (signal: AbortSignal) => Promise<StartOutcome>): Flight {
    const abort = new AbortController();
    const events: ProgressEvent[] = [{ progress: 0, message: 'Server requested' }];
    const flight: Flight = {
      promise: Promise.resolve({ status: 'pending' }),
      abort,
      events,
      waiters: new Set(),
    };
    this.#inflight.set(key, flight);
    const promise = run(abort.signal)
      .then((out) => {
        this.#emit(flight, finalEvent(out));
        return out;
      })
      .finally(() => this.#inflight.delete(key));
    flight.promise = promise;
    return flight;
  }

  #emit(flight: Flight | undefined, event: ProgressEvent): void {
    if (!flight) return;
    flight.events.push(event);
    for (const wake of flight.waiters) wake();
    flight.waiters.clear();
  }

  #step(user: Owner, name: string, progress: number, message: string): void {
    this.#emit(this.#inflight.get(this.#key(user, name)), { progress, message });
  }

  #checkConcurrency(): Refusal | undefined {
    const limit = this.#cfg.concurrentSpawnLimit ?? 0;
    if (limit === 0 || this.#inflight.size < limit) return undefined;
    return {
      status: 'refused',
      code: 'TOO_MANY_SPAWNS',
      message: `${this.#inflight.size} servers are starting; try again in a moment`,
      retryAfterSeconds: Math.max(1, Math.round(this.#cfg.slowSpawnMs / 1000)),
    };
  }

  /** Refuses a new start over the per-user or global limit of active servers; undefined when it may go ahead. */
  async #checkActiveLimits(user: Owner, name: string): Promise<Refusal | undefined> {
    const { activeServerLimit = 0, serversPerUserLimit = 0 } = this.#cfg;
    if (serversPerUserLimit > 0) {
      const mine = (await this.#servers.forUser(user.id)).filter((r) => r.name !== name);
      if (mine.length >= serversPerUserLimit) {
        return {
          status: 'refused',
          code: 'USER_SERVER_LIMIT',
          message: `${user.name} already has ${mine.length} servers; stop one first (limit ${serversPerUserLimit})`,
        };
      }
    }
    if (activeServerLimit > 0) {
      const active = (await this.#servers.all()).length;
      if (active >= activeServerLimit) {
        return {
          status: 'refused',
          code: 'ACTIVE_SERVER_LIMIT',
          message: `the hub is at its limit of ${activeServerLimit} active servers; try again later`,
          retryAfterSeconds: 60,
        };
      }
    }
    return undefined;
  }

  /**
   * The progress of a server's start, as JupyterHub's event stream has it: every step so far, then each new
   * one, ending with `ready` or `failed`. A running server yields one ready event; a failed last start, one
   * failed event. Yields nothing when the server is neither starting, running nor failed.
   */
  async *progress(user: Owner, name: string): AsyncGenerator<ProgressEvent> {
    const key = this.#key(user, name);
    const flight = this.#inflight.get(key);
    if (!flight) {
      const row = await this.#servers.find(user.id, name);
      if (row?.state === 'running') {
        yield finalEvent({ status: 'ready', server: row }, this.#hosts.serverUrl(user.name, name));
        return;
      }
      const failure = this.#failures.get(key);
      if (failure) yield { progress: 100, failed: true, message: `Spawn failed: ${failure.message}` };
      return;
    }
    let i = 0;
    for (;;) {
      while (i < flight.events.length) {
        const ev = flight.events[i++] as ProgressEvent;
        yield ev.ready ? { ...ev, url: this.#hosts.serverUrl(user.name, name) } : ev;
        if (ev.ready || ev.failed) return;
      }
      await new Promise<void>((wake) => flight.waiters.add(wake));
    }
  }

  /**
   * Wait for an in-flight start to settle; with none in flight, report how the last one ended (ready if the
   * server runs, failed if it failed), or undefined if nothing is known.
   */
  async settled(user: Owner, name: string): Promise<StartOutcome | undefined> {
    const key = this.#key(user, name);
    const flight = this.#inflight.get(key);
    if (flight) return flight.promise;
    const row = await this.#servers.find(user.id, name);
    if (row?.state === 'running') return { status: 'ready', server: row };
    const failure = this.#failures.get(key);
    return failure ? { status: 'failed', code: failure.code, message: failure.message } : undefined;
  }

  async #spawn(
    user: UserRow,
    name: string,
    signal: AbortSignal,
    profile?: ProfileVersion,
    gpus: readonly string[] = [],
  ): Promise<StartOutcome> {
    const key = this.#key(user, name);
    this.#failures.delete(key);
    const log = this.#log.child({ user: user.name, server: name });
    let row = await this.#servers.claim(user.id, name);
    if (!row) {
      // A record exists: a stale pending/stopping row from a crash. Clean it up and claim again.
      const stale = await this.#servers.find(user.id, name);
      if (stale) await this.#teardown(stale, user.name, name);
      row = await this.#servers.claim(user.id, name);
      if (!row) {
        this.#gpus?.release(key);
        return this.#fail(key, 'CONFLICT', 'server record is busy; try again');
      }
    }
    const plan = spawnPlan(this.#cfg, profile, gpus);
    if (profile) {
      // A stale record's teardown above released this key's GPUs: hold them again, unless taken meanwhile.
      if (gpus.length > 0 && (this.#gpus?.hold(key, gpus).conflicts.length ?? 1) > 0) {
        await this.#teardown(row, user.name, name);
        return this.#fail(key, 'NO_GPU_AVAILABLE', 'the GPUs for this server were taken; try again');
      }
      await this.#servers.setProfile(row.id, { name: profile.name, version: profile.version, gpus });
    }
    this.#step(user, name, 10, 'Creating the server token and OAuth client');
    const token = newSecret();
    const prefix = serverPrefix(user.name, name);
    const clientId = decodeURIComponent(oauthClientId(user.name, name));
    let state: SpawnerState | undefined;
    try {
      await this.#tokens.insert({
        userId: user.id,
        hash: hashToken(token),
        prefix: token.slice(0, 4),
        kind: 'server',
        scopes: [`users:activity!user=${user.name}`, accessScope(user.name, name)],
        note: `Server token for ${prefix}`,
        serverId: row.id,
      });
      await this.#oauth.upsertClient({
        id: clientId,
        secretHash: hashToken(token),
        redirectUri: this.#hosts.callbackUrl(user.name, name),
        allowedScopes: [accessScope(user.name, name)],
        serverId: row.id,
      });
      const env = singleUserEnv({
        user: user.name,
        serverName: name,
        token,
        hubApiUrl: this.#cfg.hubApiUrl,
        publicUrl: this.#cfg.publicUrl,
        userHosts: this.#hosts,
        port: this.#cfg.port,
        image: plan.image,
        defaultUrl: plan.defaultUrl,
        memoryBytes: plan.limits.memoryBytes,
        nanoCpus: plan.limits.nanoCpus,
        adminEnv: plan.adminEnv,
      });
      log.info({ image: plan.image, profile: plan.extra.profile, gpus }, 'spawning');
      this.#step(user, name, 30, 'Starting the container');
      const started = await this.#spawner.start(
        {
          user: user.name,
          serverName: name,
          image: plan.image,
          env,
          port: this.#cfg.port,
          limits: plan.limits,
          ...plan.extra,
        },
        signal,
        // The backend's own steps (a Swarm task waiting for a node, being prepared), between start and ready.
        (message) => this.#step(user, name, 45, message),
      );
      state = started.state;
      await this.#servers.setState(row.id, 'pending', { url: started.url, spawnerState: { ...state } });
      this.#step(user, name, 60, 'Container started; waiting for the server to answer');
      await this.#becomeReady(row.id, user, name, started.url, state, this.#cfg.startTimeoutMs, signal);
      const final = await this.#servers.find(user.id, name);
      return final ? { status: 'ready', server: final } : this.#fail(key, 'CONFLICT', 'server vanished');
    } catch (err) {
      const code = err instanceof SpawnError ? err.code : 'SPAWN_FAILED';
      const message = err instanceof Error ? err.message : String(err);
      state ??= err instanceof SpawnError ? err.state : undefined;
      let logs: string | undefined;
      if (state && this.#spawner.logs) logs = await this.#spawner.logs(state, 40).catch(() => undefined);
      log.warn({ code, err: message }, 'spawn failed');
      await this.#teardown({ ...row, spawner_state: state ?? {} } as ServerRow, user.name, name);
      return this.#fail(key, code, message, logs);
    }
  }

  /** Wait until the server answers, then route it and mark it running. Throws a SpawnError otherwise. */
  async #becomeReady(
    rowId: number,
    user: Owner,
    name: string,
    url: string,
    state: SpawnerState,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    const prefix = serverPrefix(user.name, name);
    const ready = await this.#waitReady({
      url: `${url}${prefix}api`,
      startTimeoutMs: timeoutMs,
      httpTimeoutMs: this.#cfg.httpTimeoutMs,
      signal,
      stillAlive: async () => {
        const s = await this.#spawner.status(state);
        return s.state === 'stopped' ? `exited with code ${s.exitCode ?? 'unknown'}` : undefined;
      },
    });
    if (!ready.ok) {
      throw new SpawnError(
        ready.reason === 'aborted' ? 'ABORTED' : ready.reason === 'exited' ? 'EXITED_EARLY' : 'START_FAILED',
        ready.reason === 'timeout'
          ? `server did not answer within ${Math.round(timeoutMs / 1000)} s`
          : `server ${ready.reason}${ready.detail ? `: ${ready.detail}` : ''}`,
        state,
      );
    }
    await this.#routes.add(this.#hosts.routePath(user.name, name), url, {
      user: user.name,
      server_name: name,
      berth: true,
    });
    await this.#servers.setState(rowId, 'running');
    this.#log.info({ user: user.name, server: name, version: ready.version }, 'server ready');
  }

  #fail(key: string, code: string, message: string, logs?: string): StartOutcome {
    this.#failures.set(key, logs === undefined ? { code, message } : { code, message, logs });
    return { status: 'failed', code, message };
  }

  /**
   * Remove route, process, token and OAuth client; the record stays, marked stopped (with its name, profile and
   * last activity), as JupyterHub keeps a stopped server. Keeps the home volume.
   */
  async #teardown(row: ServerRow, userName: string, name: string): Promise<void> {
    await this.#routes
      .remove(this.#hosts.routePath(userName, name))
      .catch((err) => this.#log.warn({ err: String(err) }, 'route removal failed'));
    if (Object.keys(row.spawner_state ?? {}).length > 0) {
      await this.#spawner.stop(row.spawner_state as SpawnerState);
    }
    await this.#oauth.deleteClient(decodeURIComponent(oauthClientId(userName, name)));
    await this.#tokens.deleteForServer(row.id);
    await this.#servers.markStopped(row.id);
    this.#gpus?.release(`${row.user_id}/${name}`);
  }

  async stop(user: UserRow, name: string): Promise<StopOutcome> {
    const key = this.#key(user, name);
    const flight = this.#inflight.get(key);
    if (flight) {
      flight.abort.abort();
      await flight.promise.catch(() => undefined);
    }
    const running = this.#stopping.get(key);
    if (running) return running;
    const p = (async (): Promise<StopOutcome> => {
      const row = await this.#servers.find(user.id, name);
      if (!row) return { status: 'not-running' };
      await this.#servers.setState(row.id, 'stopping');
      await this.#teardown(row, user.name, name);
      this.#log.info({ user: user.name, server: name }, 'server stopped');
      return { status: 'stopped' };
    })().finally(() => this.#stopping.delete(key));
    this.#stopping.set(key, p);
    return p;
  }

  /**
   * Stop the server if it is active, then remove its record for good: JupyterHub's `DELETE
   * …/servers/{name}` with `{"remove": true}`. Never for the default server (the caller refuses it). The home
   * volume is not touched here (VolumeLifecycle.onServerRemoved). `not-found` when there is no such server;
   * `busy` when it was started again between the stop and the removal.
   */
  async remove(user: UserRow, name: string): Promise<'removed' | 'not-found' | 'busy'> {
    if (!(await this.#servers.record(user.id, name))) return 'not-found';
    await this.stop(user, name);
    const row = await this.#servers.record(user.id, name);
    if (!row) return 'not-found';
    if (!(await this.#servers.deleteStopped(row.id))) return 'busy';
    this.#failures.delete(this.#key(user, name));
    this.#log.info({ user: user.name, server: name }, 'server removed');
    return 'removed';
  }

  /**
   * A server whose process is gone: clean up its route, token, OAuth client and record, as a stop would, and
   * remember why for the user's next page. Single-flight with stop().
   */
  async #reap(row: ServerRow, user: Owner, seen: SpawnerStatus & { state: 'stopped' }): Promise<void> {
    const key = this.#key(user, row.name);
    const running = this.#stopping.get(key);
    if (running) {
      await running;
      return;
    }
    const p = (async (): Promise<StopOutcome> => {
      const why =
        seen.exitCode === undefined
          ? 'its container is gone'
          : `it exited with code ${seen.exitCode}${seen.oomKilled ? ' (out of memory)' : ''}`;
      let logs: string | undefined;
      if (hasState(row.spawner_state) && this.#spawner.logs) {
        logs = await this.#spawner.logs(row.spawner_state, 40).catch(() => undefined);
      }
      this.#log.warn(
        { user: user.name, server: row.name, exitCode: seen.exitCode, oomKilled: seen.oomKilled },
        'server found stopped; cleaning up',
      );
      await this.#teardown(row, user.name, row.name);
      this.#fail(key, 'SERVER_STOPPED', `the server stopped unexpectedly: ${why}`, logs);
      return { status: 'stopped' };
    })().finally(() => this.#stopping.delete(key));
    this.#stopping.set(key, p);
    await p;
  }

  /**
   * Finish a spawn a crashed hub left `pending`: ready if its server answers, cleanly failed otherwise. Runs as
   * an in-flight start, so a user who asks meanwhile joins it and stop() cancels it.
   */
  #resume(row: ServerRow, user: Owner, found: ManagedServer | undefined): void {
    const flight = this.#fly(this.#key(user, row.name), (signal) =>
      this.#finishPending(row, user, found, signal),
    );
    this.#emit(flight, { progress: 50, message: 'The hub restarted; checking on the server' });
  }

  async #finishPending(
    row: ServerRow,
    user: Owner,
    found: ManagedServer | undefined,
    signal: AbortSignal,
  ): Promise<StartOutcome> {
    const key = this.#key(user, row.name);
    const log = this.#log.child({ user: user.name, server: row.name });
    const state = hasState(row.spawner_state) ? row.spawner_state : found?.state;
    const url = row.url ?? found?.url;
    try {
      if (!state || !url) {
        throw new SpawnError('START_FAILED', 'the hub restarted before the server was created', state);
      }
      const seen = await this.#spawner.status(state);
      if (seen.state === 'unknown') {
        log.warn(
          { err: seen.error },
          'pending server: backend status unknown; asking again at the next poll',
        );
        return { status: 'pending' };
      }
      if (seen.state === 'stopped') {
        throw new SpawnError(
          'EXITED_EARLY',
          `server exited while the hub was down (code ${seen.exitCode ?? 'unknown'})`,
          state,
        );
      }
      await this.#servers.setState(row.id, 'pending', { url, spawnerState: { ...state } });
      await this.#spawner.reattach?.(state);
      const started = row.started ? new Date(row.started).getTime() : Date.now();
      const left = Math.max(started + this.#cfg.startTimeoutMs - Date.now(), 10_000);
      await this.#becomeReady(row.id, user, row.name, url, state, left, signal);
      log.info('finished a spawn interrupted by a hub restart');
      const final = await this.#servers.find(user.id, row.name);
      return final ? { status: 'ready', server: final } : this.#fail(key, 'CONFLICT', 'server vanished');
    } catch (err) {
      const code = err instanceof SpawnError ? err.code : 'SPAWN_FAILED';
      const message = err instanceof Error ? err.message : String(err);
      let logs: string | undefined;
      if (state && this.#spawner.logs) logs = await this.#spawner.logs(state, 40).catch(() => undefined);
      log.warn({ code, err: message }, 'interrupted spawn failed');
      await this.#teardown({ ...row, spawner_state: state ?? {} } as ServerRow, user.name, row.name);
      return this.#fail(key, code, message, logs);
    }
  }

  /**
   * Reconcile the database with what the spawner holds. Called once at hub start (reattach) and then on every
   * poll. Running servers stay attached; servers whose process is gone are cleaned up; pending records no
   * start in this process owns are finished; backend servers without a record are removed. A status of
   * `unknown` never reaps anything. Overlapping calls share one sweep.
   */
  sweep(): Promise<SweepReport> {
    this.#sweeping ??= this.#sweep().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async #sweep(): Promise<SweepReport> {
    const r = { kept: 0, reaped: 0, resumed: 0, finishedStops: 0, orphans: 0, unknown: 0 };
    const cache = sweepCache();
    // List first, then read the records: a server the backend holds had its record claimed before it was made.
    let managed: ManagedServer[] | undefined;
    if (this.#spawner.list) {
      try {
        managed = await this.#spawner.list();
      } catch (err) {
        this.#log.warn({ err: String(err) }, 'cannot list servers; leaving unowned ones for the next poll');
      }
    }
    const byName = new Map((managed ?? []).map((m) => [`${m.user}\0${m.serverName}`, m]));
    const rows = await this.#servers.all();
    this.#holdGpus(rows);
    for (const row of rows) {
      const user: Owner = { id: row.user_id, name: row.user_name };
      const key = this.#key(user, row.name);
      if (this.#inflight.has(key) || this.#stopping.has(key)) continue;
      const found = byName.get(`${row.user_name}\0${row.name}`);
      try {
        if (row.state === 'running') {
          const seen = await this.#spawner.status(row.spawner_state as SpawnerState);
          if (seen.state === 'running') {
            await this.#spawner.reattach?.(row.spawner_state as SpawnerState, cache);
            r.kept++;
          } else if (seen.state === 'unknown') r.unknown++;
          else {
            await this.#reap(row, user, seen);
            r.reaped++;
          }
        } else if (row.state === 'pending') {
          this.#resume(row, user, found);
          r.resumed++;
        } else {
          await this.#teardown(row, user.name, row.name);
          r.finishedStops++;
        }
      } catch (err) {
        this.#log.warn({ user: user.name, server: row.name, err: String(err) }, 'sweep: server left as is');
      }
    }
    if (managed) {
      const known = new Set(rows.map((row) => `${row.user_name}\0${row.name}`));
      for (const m of managed) {
        // No record: its token and OAuth client are gone, so it could never serve anyone. Stopped by id, so a
        // newer server of the same name is never touched.
        if (known.has(`${m.user}\0${m.serverName}`)) continue;
        try {
          await this.#spawner.stop(m.state);
          r.orphans++;
          this.#log.warn({ user: m.user, server: m.serverName }, 'removed a server the hub has no record of');
        } catch (err) {
          this.#log.warn({ user: m.user, server: m.serverName, err: String(err) }, 'orphan removal failed');
        }
      }
    }
    if (r.reaped || r.resumed || r.finishedStops || r.orphans || r.unknown)
      this.#log.info(r, 'servers swept');
    return r;
  }

  /** The GPUs recorded servers hold, so a restarted hub never hands them out twice. */
  #holdGpus(rows: readonly ServerRow[]): void {
    if (!this.#gpus) return;
    for (const row of rows) {
      if (!row.gpu_devices?.length) continue;
      const { conflicts } = this.#gpus.hold(`${row.user_id}/${row.name}`, row.gpu_devices);
      if (conflicts.length) this.#log.error({ server: row.id, conflicts }, 'GPUs recorded for two servers');
    }
  }

  /**
   * Make the proxy's routes match the database: the database is the source of truth, the route table is
   * derived state. Run at start, on a timer and whenever a running server's route is found missing.
   */
  async reconcileRoutes(): Promise<{ added: number; removed: number }> {
    const rows = await this.#servers.all();
    const desired = rows
      .filter((r) => r.state === 'running' && r.url)
      .map((r) => ({
        path: this.#hosts.routePath(r.user_name, r.name),
        target: r.url as string,
        data: { user: r.user_name, server_name: r.name, berth: true },
      }));
    const diff = diffRoutes(desired, await this.#routes.list());
    for (const d of diff.add) await this.#routes.add(d.path, d.target, { ...d.data });
    for (const p of diff.remove) await this.#routes.remove(p);
    if (diff.add.length || diff.remove.length) {
      this.#log.info({ added: diff.add.length, removed: diff.remove.length }, 'proxy routes reconciled');
    }
    return { added: diff.add.length, removed: diff.remove.length };
  }
}

/** The last event of a start: ready with the server's URL, or failed with why. */
function finalEvent(out: StartOutcome, url?: string): ProgressEvent {
  switch (out.status) {
    case 'ready':
      return { progress: 100, ready: true, message: 'Server ready', ...(url ? { url } : {}) };
    case 'pending':
      return { progress: 100, failed: true, message: 'The server could not be checked on; try again' };
    default:
      return { progress: 100, failed: true, message: `Spawn failed: ${out.message}` };
  }
}

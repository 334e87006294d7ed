import type { Logger } from 'pino';
import type { OAuthRepo } from '../db/oauth-repo.ts';
import type { ServerRow, UserRow } from '../db/schema.ts';
import type { ServersRepo } from '../db/servers-repo.ts';
import type { TokensRepo } from '../db/tokens-repo.ts';
import type { RouteTable } from '../proxy/client.ts';
import { diffRoutes } from '../proxy/diff.ts';
import { hashToken, newSecret } from '../sessions/tokens.ts';
import { SpawnError, type Spawner, type SpawnerState } from '../spawner/spawner.ts';
import { singleUserEnv } from './env.ts';
import { accessScope, oauthClientId, serverPrefix } from './naming.ts';
import { waitForServer } from './wait-ready.ts';

export interface LifecycleConfig {
  readonly image: string;
  readonly port: number;
  readonly hubApiUrl: string;
  readonly publicUrl: string;
  readonly defaultUrl: string;
  readonly startTimeoutMs: number;
  readonly httpTimeoutMs: number;
  readonly memoryBytes: number;
  readonly nanoCpus: number;
  readonly pids: number;
  readonly adminEnv: Readonly<Record<string, string>>;
  /** How long a start request waits before answering "pending" (JupyterHub's slow_spawn_timeout). */
  readonly slowSpawnMs: number;
}

export type StartOutcome =
  | { readonly status: 'ready'; readonly server: ServerRow }
  | { readonly status: 'pending' }
  | { readonly status: 'failed'; readonly code: string; readonly message: string };

export type StopOutcome = { readonly status: 'stopped' } | { readonly status: 'not-running' };

/** The last failure per server, shown to the user on the next page they load. */
export interface SpawnFailure {
  readonly code: string;
  readonly message: string;
  readonly logs?: string;
}

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
  readonly #inflight = new Map<string, { promise: Promise<StartOutcome>; abort: AbortController }>();
  readonly #stopping = new Map<string, Promise<StopOutcome>>();
  readonly #failures = new Map<string, SpawnFailure>();

  constructor(deps: {
    servers: ServersRepo;
    tokens: TokensRepo;
    oauth: OAuthRepo;
    spawner: Spawner;
    routes: RouteTable;
    config: LifecycleConfig;
    log: Logger;
  }) {
    this.#servers = deps.servers;
    this.#tokens = deps.tokens;
    this.#oauth = deps.oauth;
    this.#spawner = deps.spawner;
    this.#routes = deps.routes;
    this.#cfg = deps.config;
    this.#log = deps.log;
  }

  #key(user: UserRow, name: string): string {
    return `${user.id}/${name}`;
  }

  isPending(user: UserRow, name: string): boolean {
    return this.#inflight.has(this.#key(user, name));
  }

  lastFailure(user: UserRow, name: string): SpawnFailure | undefined {
    return this.#failures.get(this.#key(user, name));
  }

  /** Start (or join the start of) a server. Resolves "pending" if not ready within slowSpawnMs. */
  async start(user: UserRow, name: string): Promise<StartOutcome> {
    const key = this.#key(user, name);
    const existing = await this.#servers.find(user.id, name);
    if (existing?.state === 'running') return { status: 'ready', server: existing };
    if (this.#stopping.has(key)) await this.#stopping.get(key);
    let flight = this.#inflight.get(key);
    if (!flight) {
      const abort = new AbortController();
      const promise = this.#spawn(user, name, abort.signal).finally(() => this.#inflight.delete(key));
      flight = { promise, abort };
      this.#inflight.set(key, flight);
    }
    const timer = new Promise<StartOutcome>((r) =>
      setTimeout(() => r({ status: 'pending' }), this.#cfg.slowSpawnMs).unref(),
    );
    return Promise.race([flight.promise, timer]);
  }

  /** Wait for an in-flight start to settle (used by tests and the progress page). */
  async settled(user: UserRow, name: string): Promise<StartOutcome | undefined> {
    return this.#inflight.get(this.#key(user, name))?.promise;
  }

  async #spawn(user: UserRow, name: string, signal: AbortSignal): Promise<StartOutcome> {
    const key = this.#key(user, name);
    this.#failures.delete(key);
    const log = this.#log.child({ user: user.name, server: name });
    let row = await this.#servers.claim(user.id, name);
    if (!row) {
      // A record exists: a stale pending/stopping row from a crash. Clean it up and claim again.
      const stale = await this.#servers.find(user.id, name);
      if (stale) await this.#teardown(stale, user, name);
      row = await this.#servers.claim(user.id, name);
      if (!row) return this.#fail(key, 'CONFLICT', 'server record is busy; try again');
    }
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
        redirectUri: `${prefix}oauth_callback`,
        allowedScopes: [accessScope(user.name, name)],
        serverId: row.id,
      });
      const env = singleUserEnv({
        user: user.name,
        serverName: name,
        token,
        hubApiUrl: this.#cfg.hubApiUrl,
        publicUrl: this.#cfg.publicUrl,
        port: this.#cfg.port,
        image: this.#cfg.image,
        defaultUrl: this.#cfg.defaultUrl,
        memoryBytes: this.#cfg.memoryBytes,
        nanoCpus: this.#cfg.nanoCpus,
        adminEnv: this.#cfg.adminEnv,
      });
      log.info({ image: this.#cfg.image }, 'spawning');
      const started = await this.#spawner.start(
        {
          user: user.name,
          serverName: name,
          image: this.#cfg.image,
          env,
          port: this.#cfg.port,
          limits: { memoryBytes: this.#cfg.memoryBytes, nanoCpus: this.#cfg.nanoCpus, pids: this.#cfg.pids },
        },
        signal,
      );
      state = started.state;
      await this.#servers.setState(row.id, 'pending', { url: started.url, spawnerState: { ...state } });
      const ready = await waitForServer({
        url: `${started.url}${prefix}api`,
        startTimeoutMs: this.#cfg.startTimeoutMs,
        httpTimeoutMs: this.#cfg.httpTimeoutMs,
        signal,
        stillAlive: async () => {
          const s = await this.#spawner.status(started.state);
          return s.state === 'stopped' ? `exited with code ${s.exitCode ?? 'unknown'}` : undefined;
        },
      });
      if (!ready.ok) {
        throw new SpawnError(
          ready.reason === 'aborted'
            ? 'ABORTED'
            : ready.reason === 'exited'
              ? 'EXITED_EARLY'
              : 'START_FAILED',
          ready.reason === 'timeout'
            ? `server did not answer within ${Math.round(this.#cfg.startTimeoutMs / 1000)} s`
            : `server ${ready.reason}${ready.detail ? `: ${ready.detail}` : ''}`,
          state,
        );
      }
      await this.#routes.add(prefix, started.url, { user: user.name, server_name: name, berth: true });
      await this.#servers.setState(row.id, 'running');
      log.info({ version: ready.version }, 'server ready');
      const final = await this.#servers.find(user.id, name);
      return final ? { status: 'ready', server: final } : this.#fail(key, 'CONFLICT', 'server vanished');
    } catch (err) {
      const code = err instanceof SpawnError ? err.code : 'SPAWN_FAILED';
      const message = err instanceof Error ? err.message : String(err);
      state ??= err instanceof SpawnError ? err.state : undefined;
      let logs: string | undefined;
      if (state && this.#spawner.logs) logs = await this.#spawner.logs(state, 40).catch(() => undefined);
      log.warn({ code, err: message }, 'spawn failed');
      await this.#teardown({ ...row, spawner_state: state ?? {} } as ServerRow, user, name);
      return this.#fail(key, code, message, logs);
    }
  }

  #fail(key: string, code: string, message: string, logs?: string): StartOutcome {
    this.#failures.set(key, logs === undefined ? { code, message } : { code, message, logs });
    return { status: 'failed', code, message };
  }

  /** Remove route, process, token, OAuth client and the record. Keeps the home volume. */
  async #teardown(row: ServerRow, user: UserRow, name: string): Promise<void> {
    const prefix = serverPrefix(user.name, name);
    await this.#routes
      .remove(prefix)
      .catch((err) => this.#log.warn({ err: String(err) }, 'route removal failed'));
    if (Object.keys(row.spawner_state ?? {}).length > 0) {
      await this.#spawner.stop(row.spawner_state as SpawnerState);
    }
    await this.#oauth.deleteClient(decodeURIComponent(oauthClientId(user.name, name)));
    await this.#tokens.deleteForServer(row.id);
    await this.#servers.delete(row.id);
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
      await this.#teardown(row, user, name);
      this.#log.info({ user: user.name, server: name }, 'server stopped');
      return { status: 'stopped' };
    })().finally(() => this.#stopping.delete(key));
    this.#stopping.set(key, p);
    return p;
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
        path: serverPrefix(r.user_name, r.name),
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

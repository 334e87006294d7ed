import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { PostgresAuditLog } from './audit/audit-log.ts';
import { UsageReport } from './audit/usage.ts';
import { applyAccessAtStart } from './auth/apply-access.ts';
import { accessSets, buildAuthenticators, buildSealer } from './auth/build.ts';
import { IdentityResolver } from './auth/identity.ts';
import { LoginPipeline } from './auth/login-pipeline.ts';
import { readRbacFile, readServiceTokens } from './authz/rbac-file.ts';
import { RoleBook } from './authz/roles.ts';
import { ServiceTokens } from './authz/services.ts';
import type { Config } from './config/schema.ts';
import { AccessRepo } from './db/access-repo.ts';
import { CachedReads } from './db/cached-reads.ts';
import { ChangeFeed } from './db/change-feed.ts';
import { ChangeListener } from './db/change-listener.ts';
import { createDatabase, migrateToLatest } from './db/database.ts';
import { GroupsRepo } from './db/groups-repo.ts';
import { OAuthRepo } from './db/oauth-repo.ts';
import { ProfilesRepo } from './db/profiles-repo.ts';
import { ServersRepo } from './db/servers-repo.ts';
import { SessionsRepo } from './db/sessions-repo.ts';
import { TokensRepo } from './db/tokens-repo.ts';
import { UsersRepo } from './db/users-repo.ts';
import { waitForDatabase } from './db/wait.ts';
import type { HubContext } from './http/context.ts';
import { buildServer } from './http/server.ts';
import { ShutdownSwitch } from './http/shutdown-switch.ts';
import { loggerOptions } from './log.ts';
import { HubMetrics } from './metrics/hub-metrics.ts';
import { instrumentRoutes, instrumentSpawner } from './metrics/instrumented.ts';
import { databaseSources } from './metrics/sources.ts';
import { OAuthProvider } from './oauth/provider.ts';
import { bootProfiles, readSeeds } from './profiles/boot.ts';
import type { ImageInspector } from './profiles/images.ts';
import { ChpRouteTable, type RouteTable } from './proxy/client.ts';
import { buildCuller } from './servers/cull-wiring.ts';
import { ServerManager } from './servers/manager.ts';
import { userHostsFor } from './servers/user-hosts.ts';
import { VolumeLifecycle } from './servers/volumes.ts';
import type { Spawner } from './spawner/spawner.ts';
import type { InternalTls } from './tls/runtime.ts';

export interface HubParts {
  readonly spawner: Spawner;
  readonly cookieSecret: string;
  readonly routes?: RouteTable;
  readonly log?: Logger;
  /** How long a start request waits before answering "pending". */
  readonly slowSpawnMs?: number;
  /** Image checks for profiles (presence, probe); without it they are skipped (tests with fake spawners). */
  readonly images?: ImageInspector;
  /** Internal TLS (main.ts loads it when BERTH_INTERNAL_TLS=1): listener, client identities, server certs. */
  readonly tls?: InternalTls;
}

export interface Hub {
  readonly app: FastifyInstance;
  readonly ctx: HubContext;
  close(): Promise<void>;
}

/** The composition root: builds every part and wires them. No logic lives here. */
export async function createHub(config: Config, parts: HubParts): Promise<Hub> {
  const startedAt = performance.now();
  const log = parts.log ?? pino(loggerOptions(config.logLevel));
  const changes = new ChangeFeed();
  const db = createDatabase(
    config.database.url,
    10,
    (err) => log.warn({ err: err.message }, 'a database connection was closed by the server'),
    changes,
  );
  const users = new UsersRepo(db);
  const metrics = new HubMetrics(databaseSources(db));
  // Before any I/O: a misconfigured authenticator stops the hub here, naming the setting.
  const authenticators = buildAuthenticators(config.auth, { local: users, publicUrl: config.publicUrl });
  const sealer = buildSealer(config.auth);
  const roles = new RoleBook(readRbacFile(config.rbac.file));
  const serviceTokens = new ServiceTokens(
    roles,
    readServiceTokens(roles.services(), config.secrets.enforceFileModes),
  );
  // A bad profiles file, or an image that cannot be pinned, stops the hub before the database is touched.
  const seeds = await readSeeds(config, parts.images);
  // On a swarm Postgres may still be starting (docs/swarm.md): wait for it rather than fail the first query.
  await waitForDatabase(db, { timeoutMs: config.database.waitMs, log });
  await migrateToLatest(db);
  const changeListener = new ChangeListener(
    config.database.url,
    changes,
    log.child({ component: 'changes' }),
  );
  await changeListener.start();
  const access = new AccessRepo(db);
  const sets = accessSets(config.auth);
  await applyAccessAtStart(access, sets, {
    revokeDisallowed: config.auth.revokeDisallowed,
    log: log.child({ component: 'access' }),
  });
  log.info({ authenticators: authenticators.map((a) => a.kind) }, 'authenticators');
  const login = new LoginPipeline({
    authenticators,
    sets,
    repo: access,
    log: log.child({ component: 'login' }),
    sealer,
    ...(config.auth.manageGroups ? { groups: new GroupsRepo(db) } : {}),
  });
  const sessions = new SessionsRepo(db, { idleSeconds: config.sessions.idleSeconds });
  const tokens = new TokensRepo(db);
  const servers = new ServersRepo(db);
  const oauthRepo = new OAuthRepo(db);
  const routes = instrumentRoutes(
    parts.routes ??
      new ChpRouteTable({
        apiUrl: config.proxy.apiUrl,
        authToken: config.proxy.authToken,
        ...(parts.tls ? { dispatcher: parts.tls.toProxyApi } : {}),
      }),
    metrics,
  );
  const { profiles, gpus } = await bootProfiles({
    config,
    seeds,
    repo: new ProfilesRepo(db),
    images: parts.images,
    log: log.child({ component: 'profiles' }),
  });
  const lifecycle = new ServerManager({
    servers,
    tokens,
    oauth: oauthRepo,
    spawner: instrumentSpawner(parts.spawner, metrics),
    routes,
    profiles,
    gpus,
    log: log.child({ component: 'lifecycle' }),
    ...(parts.tls ? { waitReady: parts.tls.waitReady } : {}),
    config: {
      image: config.spawner.image,
      port: config.spawner.port,
      hubApiUrl: config.hubApiUrlForServers,
      publicUrl: config.publicUrl,
      userHosts: userHostsFor(config.subdomainHost),
      defaultUrl: config.spawner.defaultUrl,
      startTimeoutMs: config.spawner.startTimeoutMs,
      httpTimeoutMs: config.spawner.httpTimeoutMs,
      memoryBytes: config.spawner.memoryBytes,
      nanoCpus: config.spawner.nanoCpus,
      pids: config.spawner.pids,
      adminEnv: config.spawner.environment,
      slowSpawnMs: parts.slowSpawnMs ?? 10_000,
      concurrentSpawnLimit: config.spawner.concurrentSpawnLimit,
      activeServerLimit: config.spawner.activeServerLimit,
      serversPerUserLimit: config.spawner.serversPerUserLimit,
    },
  });
  const culler = buildCuller({
    config,
    servers,
    users,
    tokens,
    lifecycle,
    log: log.child({ component: 'culler' }),
    ...(parts.tls ? { serverFetch: parts.tls.serverFetch } : {}),
  });
  const ctx: HubContext = {
    config,
    db,
    users,
    groups: new GroupsRepo(db),
    roles,
    serviceTokens,
    metrics,
    shutdown: new ShutdownSwitch(),
    proxyRoutes: routes,
    sessions,
    tokens,
    servers,
    oauthRepo,
    identity: new IdentityResolver({ users, tokens, sessions, roles, changes }),
    reads: new CachedReads(changes, users, servers),
    oauth: new OAuthProvider({ oauth: oauthRepo, tokens, tokenTtlSeconds: config.sessions.maxAgeSeconds }),
    lifecycle,
    profiles,
    gpus,
    culler,
    volumes: new VolumeLifecycle({
      spawner: parts.spawner,
      policy: config.volumes.onUserDelete,
      log: log.child({ component: 'volumes' }),
    }),
    login,
    cookieSecret: parts.cookieSecret,
    log,
    jupyterhubVersion: config.jupyterhubVersion,
    audit: new PostgresAuditLog(db, log.child({ component: 'audit' })),
    usage: new UsageReport(db),
  };
  const app = await buildServer(ctx, parts.tls ? { https: parts.tls.listener } : {});
  metrics.hubStartupDuration.observe((performance.now() - startedAt) / 1000);
  return {
    app,
    ctx,
    async close() {
      culler.close();
      await app.close();
      await changeListener.close();
      await db.destroy();
    },
  };
}

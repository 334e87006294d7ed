import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import type { UsageReport } from '../audit/usage.ts';
import type { IdentityResolver } from '../auth/identity.ts';
import type { LoginPipeline } from '../auth/login-pipeline.ts';
import type { RoleBook } from '../authz/roles.ts';
import type { ServiceTokens } from '../authz/services.ts';
import type { Config } from '../config/schema.ts';
import type { CachedReads } from '../db/cached-reads.ts';
import type { GroupsRepo } from '../db/groups-repo.ts';
import type { OAuthRepo } from '../db/oauth-repo.ts';
import type { Database } from '../db/schema.ts';
import type { ServersRepo } from '../db/servers-repo.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import type { TokensRepo } from '../db/tokens-repo.ts';
import type { UsersRepo } from '../db/users-repo.ts';
import type { HubMetrics } from '../metrics/hub-metrics.ts';
import type { OAuthProvider } from '../oauth/provider.ts';
import type { GpuAllocator } from '../profiles/gpu-allocator.ts';
import type { ProfileService } from '../profiles/service.ts';
import type { RouteTable } from '../proxy/client.ts';
import type { IdleCuller } from '../servers/culler.ts';
import type { ServerManager } from '../servers/manager.ts';
import type { VolumeLifecycle } from '../servers/volumes.ts';
import type { ShutdownSwitch } from './shutdown-switch.ts';

/** What the HTTP layer may use. Built once by the composition root. */
export interface HubContext {
  readonly config: Config;
  readonly db: Kysely<Database>;
  readonly users: UsersRepo;
  readonly groups: GroupsRepo;
  /** Custom roles and services from BERTH_RBAC_FILE. */
  readonly roles: RoleBook;
  readonly serviceTokens: ServiceTokens;
  /** The hub's Prometheus metrics (GET /hub/metrics). */
  readonly metrics: HubMetrics;
  /** POST /hub/api/shutdown pulls it; main.ts stops the process. */
  readonly shutdown: ShutdownSwitch;
  /** The proxy's route table (GET /hub/api/proxy). */
  readonly proxyRoutes: RouteTable;
  readonly sessions: SessionsRepo;
  readonly tokens: TokensRepo;
  readonly servers: ServersRepo;
  /** Reads behind the REST API's user models, from memory while nothing they depend on changed. */
  readonly reads: CachedReads;
  readonly oauthRepo: OAuthRepo;
  readonly identity: IdentityResolver;
  readonly oauth: OAuthProvider;
  readonly lifecycle: ServerManager;
  /** Image profiles: what users may start, what admins edit (docs/profiles.md). */
  readonly profiles: ProfileService;
  /** The GPU inventory profiles draw from (the picker shows what is free). */
  readonly gpus: GpuAllocator;
  /** Idle culling: warnings and notices shown to users (servers/culler.ts). */
  readonly culler: IdleCuller;
  /** What happens to a deleted user's home volumes (servers/volumes.ts). */
  readonly volumes: VolumeLifecycle;
  /** The closed login pipeline around the enabled authenticators. */
  readonly login: LoginPipeline;
  readonly cookieSecret: string;
  readonly log: Logger;
  /** The JupyterHub version Berth reports to single-user servers. */
  readonly jupyterhubVersion: string;
  /** Logins, admin actions, token changes and access to others' servers (audit/audit-log.ts). */
  readonly audit: AuditLog;
  /** Server-hours per user, group and profile (audit/usage.ts). */
  readonly usage: UsageReport;
}

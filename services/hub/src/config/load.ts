import { readFileSync } from 'node:fs';
import { internalTlsFromEnv } from './internal-tls.ts';
import { oidcEnvName, oidcFromEnv } from './oidc-env.ts';
import { type Config, configSchema } from './schema.ts';

/** Thrown at boot for bad configuration; the message names the key and never contains a secret value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

export function fromFileOrEnv(env: Env, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`${name}_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`);
    }
  }
  return env[name];
}

export function int(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new ConfigError(`${name}: expected an integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** BERTH_DB_WAIT_SECONDS: how long the hub waits at start for the database (docs/swarm.md). */
function dbWaitSeconds(env: Env): number {
  const n = int(env, 'BERTH_DB_WAIT_SECONDS', 60);
  if (n < 0) throw new ConfigError(`BERTH_DB_WAIT_SECONDS: expected 0 or more seconds, got ${n}`);
  return n;
}

function parseEnvironment(raw: string | undefined): Record<string, string> {
  if (!raw) return {};
  try {
    const v: unknown = JSON.parse(raw);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, string>;
  } catch {
    // fall through
  }
  throw new ConfigError('BERTH_SPAWNER_ENVIRONMENT: expected a JSON object of strings');
}

function list(env: Env, name: string, lower = false): string[] {
  const raw = env[name] ?? '';
  return raw
    .split(',')
    .map((v) => (lower ? v.trim().toLowerCase() : v.trim()))
    .filter((v) => v !== '');
}

export function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw new ConfigError(`${name}: expected 1 or 0, got ${JSON.stringify(raw.slice(0, 32))}`);
}

export const opt = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);

/** Environment variable behind each auth key, so errors name what the admin actually set. */
const AUTH_ENV: Record<string, string> = {
  'culling.idleTimeoutMs': 'BERTH_CULL_IDLE_TIMEOUT_SECONDS',
  'culling.maxAgeMs': 'BERTH_CULL_MAX_AGE_SECONDS',
  'culling.intervalMs': 'BERTH_CULL_INTERVAL_SECONDS',
  'culling.warningMs': 'BERTH_CULL_WARNING_SECONDS',
  'culling.exemptUsers': 'BERTH_CULL_EXEMPT_USERS',
  'volumes.onUserDelete': 'BERTH_VOLUME_ON_USER_DELETE',
  'auth.authenticators': 'BERTH_AUTHENTICATORS',
  'auth.allowAll': 'BERTH_ALLOW_ALL',
  'auth.allowedUsers': 'BERTH_ALLOWED_USERS',
  'auth.blockedUsers': 'BERTH_BLOCKED_USERS',
  'auth.allowedGroups': 'BERTH_ALLOWED_GROUPS',
  'auth.adminUsers': 'BERTH_ADMIN_USERS',
  'auth.adminGroups': 'BERTH_ADMIN_GROUPS',
  'auth.revokeDisallowed': 'BERTH_REVOKE_DISALLOWED',
  'auth.localSignup': 'BERTH_LOCAL_SIGNUP',
  'auth.manageGroups': 'BERTH_MANAGE_GROUPS',
  'auth.ldap.url': 'BERTH_LDAP_URL',
  'auth.ldap.startTls': 'BERTH_LDAP_START_TLS',
  'auth.ldap.caFile': 'BERTH_LDAP_CA_FILE',
  'auth.ldap.bindDnTemplate': 'BERTH_LDAP_BIND_DN_TEMPLATE',
  'auth.ldap.searchBase': 'BERTH_LDAP_SEARCH_BASE',
  'auth.ldap.bindDn': 'BERTH_LDAP_BIND_DN',
  'auth.ldap.bindPassword': 'BERTH_LDAP_BIND_PASSWORD',
  'auth.ldap.usernameAttribute': 'BERTH_LDAP_USERNAME_ATTRIBUTE',
  'auth.ldap.userFilter': 'BERTH_LDAP_USER_FILTER',
  'auth.ldap.groups.from': 'BERTH_LDAP_GROUPS_FROM',
  'auth.ldap.groups.searchBase': 'BERTH_LDAP_GROUP_SEARCH_BASE',
  'auth.ldap.groups.memberAttribute': 'BERTH_LDAP_GROUP_MEMBER_ATTRIBUTE',
  'auth.ldap.groups.nameAttribute': 'BERTH_LDAP_GROUP_NAME_ATTRIBUTE',
  'auth.ldap.groups.nested': 'BERTH_LDAP_NESTED_GROUPS',
  'auth.ldap.connectTimeoutMs': 'BERTH_LDAP_CONNECT_TIMEOUT_SECONDS',
  'auth.ldap.timeoutMs': 'BERTH_LDAP_TIMEOUT_SECONDS',
  'auth.ldap.authStateAttributes': 'BERTH_LDAP_AUTH_STATE_ATTRIBUTES',
  'auth.oidc.displayName': 'BERTH_OIDC_DISPLAY_NAME',
  'auth.oidc.issuer': 'BERTH_OIDC_ISSUER',
  'auth.oidc.clientId': 'BERTH_OIDC_CLIENT_ID',
  'auth.oidc.clientSecret': 'BERTH_OIDC_CLIENT_SECRET',
  'auth.oidc.scopes': 'BERTH_OIDC_SCOPES',
  'auth.oidc.usernameClaim': 'BERTH_OIDC_USERNAME_CLAIM',
  'auth.oidc.groupsClaim': 'BERTH_OIDC_GROUPS_CLAIM',
  'auth.oidc.caFile': 'BERTH_OIDC_CA_FILE',
  'auth.oidc.timeoutMs': 'BERTH_OIDC_TIMEOUT_SECONDS',
  'auth.oidc.logoutAtIdp': 'BERTH_OIDC_LOGOUT_AT_IDP',
  'auth.authStateKeyFile': 'BERTH_AUTH_STATE_KEY_FILE',
};

function authFromEnv(env: Env) {
  const authenticators = list(env, 'BERTH_AUTHENTICATORS', true);
  const ldapEnabled = authenticators.includes('ldap');
  const ldapSet = Object.keys(env).find((k) => k.startsWith('BERTH_LDAP_') && env[k]);
  if (ldapSet && !ldapEnabled) {
    throw new ConfigError(`${ldapSet} is set, but ldap is not in BERTH_AUTHENTICATORS`);
  }
  return {
    authenticators: authenticators.length ? authenticators : ['local'],
    allowAll: bool(env, 'BERTH_ALLOW_ALL', false),
    allowedUsers: list(env, 'BERTH_ALLOWED_USERS', true),
    blockedUsers: list(env, 'BERTH_BLOCKED_USERS', true),
    allowedGroups: list(env, 'BERTH_ALLOWED_GROUPS'),
    adminUsers: list(env, 'BERTH_ADMIN_USERS', true),
    adminGroups: list(env, 'BERTH_ADMIN_GROUPS'),
    revokeDisallowed: bool(env, 'BERTH_REVOKE_DISALLOWED', true),
    localSignup: bool(env, 'BERTH_LOCAL_SIGNUP', false),
    manageGroups: bool(env, 'BERTH_MANAGE_GROUPS', false),
    ldap: ldapEnabled
      ? {
          url: env.BERTH_LDAP_URL ?? '',
          startTls: bool(env, 'BERTH_LDAP_START_TLS', false),
          caFile: opt(env.BERTH_LDAP_CA_FILE),
          bindDnTemplate: opt(env.BERTH_LDAP_BIND_DN_TEMPLATE),
          searchBase: opt(env.BERTH_LDAP_SEARCH_BASE),
          bindDn: opt(env.BERTH_LDAP_BIND_DN),
          bindPassword: opt(fromFileOrEnv(env, 'BERTH_LDAP_BIND_PASSWORD')),
          usernameAttribute: env.BERTH_LDAP_USERNAME_ATTRIBUTE || 'uid',
          userFilter: opt(env.BERTH_LDAP_USER_FILTER),
          groups: {
            from: env.BERTH_LDAP_GROUPS_FROM || 'memberOf',
            searchBase: opt(env.BERTH_LDAP_GROUP_SEARCH_BASE),
            memberAttribute: env.BERTH_LDAP_GROUP_MEMBER_ATTRIBUTE || 'member',
            nameAttribute: env.BERTH_LDAP_GROUP_NAME_ATTRIBUTE || 'cn',
            nested: bool(env, 'BERTH_LDAP_NESTED_GROUPS', false),
          },
          connectTimeoutMs: int(env, 'BERTH_LDAP_CONNECT_TIMEOUT_SECONDS', 5) * 1000,
          timeoutMs: int(env, 'BERTH_LDAP_TIMEOUT_SECONDS', 10) * 1000,
          authStateAttributes: list(env, 'BERTH_LDAP_AUTH_STATE_ATTRIBUTES'),
        }
      : undefined,
    ...oidcFromEnv(env, authenticators),
    authStateKeyFile: opt(env.BERTH_AUTH_STATE_KEY_FILE),
  };
}

/** Build the validated, frozen configuration from the environment. Read once, at boot. */
export function loadConfig(env: Env = process.env): Config {
  const dbPassword = fromFileOrEnv(env, 'BERTH_DB_PASSWORD');
  let databaseUrl = fromFileOrEnv(env, 'BERTH_DATABASE_URL');
  if (!databaseUrl && env.BERTH_DB_HOST) {
    const u = new URL('postgres://placeholder');
    u.hostname = env.BERTH_DB_HOST;
    u.port = env.BERTH_DB_PORT ?? '5432';
    u.username = env.BERTH_DB_USER ?? 'berth';
    u.password = dbPassword ?? '';
    u.pathname = `/${env.BERTH_DB_NAME ?? 'berth'}`;
    databaseUrl = u.toString();
  }
  const internalTls = internalTlsFromEnv(env, (message) => {
    throw new ConfigError(message);
  });
  const scheme = internalTls.enabled ? 'https' : 'http';
  const raw = {
    publicUrl: env.BERTH_PUBLIC_URL ?? 'https://localhost',
    subdomainHost: env.BERTH_SUBDOMAIN_HOST || undefined,
    bind: { host: env.BERTH_HUB_HOST ?? '0.0.0.0', port: int(env, 'BERTH_HUB_PORT', 8081) },
    hubApiUrlForServers: env.BERTH_HUB_API_URL ?? `${scheme}://hub:8081/hub/api`,
    database: { url: databaseUrl ?? '', waitMs: dbWaitSeconds(env) * 1000 },
    secrets: {
      cookieSecretFile: env.BERTH_COOKIE_SECRET_FILE ?? '/run/berth/hub/cookie_secret',
      enforceFileModes: env.BERTH_ENFORCE_SECRET_FILE_MODES !== '0',
    },
    proxy: {
      apiUrl: env.BERTH_PROXY_API_URL ?? `${scheme}://proxy:8001`,
      authToken: fromFileOrEnv(env, 'CONFIGPROXY_AUTH_TOKEN') ?? '',
    },
    spawner: {
      image: env.BERTH_SINGLEUSER_IMAGE ?? 'quay.io/jupyter/base-notebook:latest',
      network: env.BERTH_USERS_NETWORK ?? 'berth-users',
      deploymentId: env.BERTH_DEPLOYMENT_ID ?? 'berth',
      prefix: env.BERTH_CONTAINER_PREFIX ?? 'berth',
      port: int(env, 'BERTH_SINGLEUSER_PORT', 8888),
      startTimeoutMs: int(env, 'BERTH_START_TIMEOUT_SECONDS', 120) * 1000,
      pullTimeoutMs: int(env, 'BERTH_IMAGE_PULL_TIMEOUT_SECONDS', 600) * 1000,
      httpTimeoutMs: int(env, 'BERTH_HTTP_TIMEOUT_SECONDS', 30) * 1000,
      defaultUrl: env.BERTH_DEFAULT_URL ?? '/lab',
      memoryBytes: int(env, 'BERTH_MEM_LIMIT_MB', 2048) * 1024 * 1024,
      nanoCpus: Math.round(Number(env.BERTH_CPU_LIMIT ?? '1') * 1e9),
      pids: int(env, 'BERTH_PIDS_LIMIT', 512),
      environment: parseEnvironment(env.BERTH_SPAWNER_ENVIRONMENT),
      pollIntervalMs: int(env, 'BERTH_POLL_INTERVAL_SECONDS', 30) * 1000,
      isolation: env.BERTH_NETWORK_ISOLATION ?? 'per-server',
      backend: env.BERTH_SPAWNER ?? 'docker',
      swarmConstraints: list(env, 'BERTH_SWARM_CONSTRAINTS'),
      subnetPool: env.BERTH_SERVER_SUBNET_POOL ?? '10.213.0.0/16',
      networkPeers: (env.BERTH_NETWORK_PEERS ?? 'proxy').split(',').filter(Boolean),
      egressSubnetPool: env.BERTH_EGRESS_SUBNET_POOL ?? '10.212.0.0/16',
      concurrentSpawnLimit: int(env, 'BERTH_CONCURRENT_SPAWN_LIMIT', 20),
      activeServerLimit: int(env, 'BERTH_ACTIVE_SERVER_LIMIT', 0),
      serversPerUserLimit: int(env, 'BERTH_SERVERS_PER_USER', 3),
    },
    profiles: { file: opt(env.BERTH_PROFILES_FILE), gpuDevices: list(env, 'BERTH_GPU_DEVICES') },
    rbac: { file: opt(env.BERTH_RBAC_FILE) },
    culling: {
      idleTimeoutMs: int(env, 'BERTH_CULL_IDLE_TIMEOUT_SECONDS', 3600) * 1000,
      maxAgeMs: int(env, 'BERTH_CULL_MAX_AGE_SECONDS', 0) * 1000,
      intervalMs: int(env, 'BERTH_CULL_INTERVAL_SECONDS', 60) * 1000,
      warningMs: int(env, 'BERTH_CULL_WARNING_SECONDS', 600) * 1000,
      cullConnected: bool(env, 'BERTH_CULL_CONNECTED', false),
      cullAdmins: bool(env, 'BERTH_CULL_ADMIN_SERVERS', true),
      exemptUsers: list(env, 'BERTH_CULL_EXEMPT_USERS', true),
    },
    volumes: {
      onUserDelete: env.BERTH_VOLUME_ON_USER_DELETE ?? 'archive',
    },
    sessions: {
      maxAgeSeconds: int(env, 'BERTH_SESSION_MAX_AGE_SECONDS', 14 * 24 * 3600),
      loginAttemptsPerMinute: int(env, 'BERTH_LOGIN_ATTEMPTS_PER_MINUTE', 10),
      loginAttemptsPerMinutePerClient: int(env, 'BERTH_LOGIN_ATTEMPTS_PER_MINUTE_PER_CLIENT', 30),
      idleSeconds: int(env, 'BERTH_SESSION_IDLE_SECONDS', 24 * 3600),
    },
    trustedProxies: list(env, 'BERTH_TRUSTED_PROXIES'),
    jupyterhubVersion: env.BERTH_JUPYTERHUB_VERSION ?? '5.3.0',
    logLevel: env.BERTH_LOG_LEVEL ?? 'info',
    auth: authFromEnv(env),
    internalTls,
  };
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const path = first?.path.join('.') ?? '';
    const setting = AUTH_ENV[path.replace(/(\.\d+)+$/, '')] ?? oidcEnvName(path);
    const envName = setting ? ` (${setting})` : '';
    throw new ConfigError(
      `invalid configuration at ${path || '(root)'}${envName}: ${first?.message ?? 'invalid'}`,
    );
  }
  const sp = parsed.data.spawner;
  if (sp.backend === 'swarm' && sp.isolation !== 'shared') {
    throw new ConfigError(
      'BERTH_SPAWNER=swarm: set BERTH_NETWORK_ISOLATION=shared (servers join the overlay network BERTH_USERS_NETWORK; per-server networks are not on Swarm yet)',
    );
  }
  const sub = parsed.data.subdomainHost;
  if (sub && new URL(sub).origin !== new URL(parsed.data.publicUrl).origin) {
    throw new ConfigError(
      'BERTH_SUBDOMAIN_HOST: must be the origin of BERTH_PUBLIC_URL (the hub stays there)',
    );
  }
  return deepFreeze(parsed.data);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

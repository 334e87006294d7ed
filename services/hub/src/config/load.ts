import { readFileSync } from 'node:fs';
import { type Config, configSchema } from './schema.ts';

/** Thrown at boot for bad configuration; the message names the key and never contains a secret value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function fromFileOrEnv(env: Env, name: string): string | undefined {
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

function int(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new ConfigError(`${name}: expected an integer, got ${JSON.stringify(raw)}`);
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
  const raw = {
    publicUrl: env.BERTH_PUBLIC_URL ?? 'https://localhost',
    bind: { host: env.BERTH_HUB_HOST ?? '0.0.0.0', port: int(env, 'BERTH_HUB_PORT', 8081) },
    hubApiUrlForServers: env.BERTH_HUB_API_URL ?? 'http://hub:8081/hub/api',
    database: { url: databaseUrl ?? '' },
    secrets: {
      cookieSecretFile: env.BERTH_COOKIE_SECRET_FILE ?? '/run/berth/hub/cookie_secret',
      enforceFileModes: env.BERTH_ENFORCE_SECRET_FILE_MODES !== '0',
    },
    proxy: {
      apiUrl: env.BERTH_PROXY_API_URL ?? 'http://proxy:8001',
      authToken: fromFileOrEnv(env, 'CONFIGPROXY_AUTH_TOKEN') ?? '',
    },
    spawner: {
      image: env.BERTH_SINGLEUSER_IMAGE ?? 'quay.io/jupyter/base-notebook:latest',
      network: env.BERTH_USERS_NETWORK ?? 'berth-users',
      deploymentId: env.BERTH_DEPLOYMENT_ID ?? 'berth',
      prefix: env.BERTH_CONTAINER_PREFIX ?? 'berth',
      port: int(env, 'BERTH_SINGLEUSER_PORT', 8888),
      startTimeoutMs: int(env, 'BERTH_START_TIMEOUT_SECONDS', 120) * 1000,
      httpTimeoutMs: int(env, 'BERTH_HTTP_TIMEOUT_SECONDS', 30) * 1000,
      defaultUrl: env.BERTH_DEFAULT_URL ?? '/lab',
      memoryBytes: int(env, 'BERTH_MEM_LIMIT_MB', 2048) * 1024 * 1024,
      nanoCpus: Math.round(Number(env.BERTH_CPU_LIMIT ?? '1') * 1e9),
      pids: int(env, 'BERTH_PIDS_LIMIT', 512),
      environment: parseEnvironment(env.BERTH_SPAWNER_ENVIRONMENT),
      pollIntervalMs: int(env, 'BERTH_POLL_INTERVAL_SECONDS', 30) * 1000,
    },
    sessions: {
      maxAgeSeconds: int(env, 'BERTH_SESSION_MAX_AGE_SECONDS', 14 * 24 * 3600),
      loginAttemptsPerMinute: int(env, 'BERTH_LOGIN_ATTEMPTS_PER_MINUTE', 10),
    },
    jupyterhubVersion: env.BERTH_JUPYTERHUB_VERSION ?? '5.3.0',
    logLevel: env.BERTH_LOG_LEVEL ?? 'info',
  };
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const path = first?.path.join('.') ?? '';
    throw new ConfigError(`invalid configuration at ${path || '(root)'}: ${first?.message ?? 'invalid'}`);
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

/**
 * The proxy's configuration: read once from the environment, validated, frozen.
 *
 * Errors name the variable at fault and never include the token's value.
 */
import { readFileSync } from 'node:fs';
import { Secret } from './secret.ts';
import { parseTarget } from './target.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** PEM material read from files at start. Keys are Secrets: they print as [redacted]. */
export interface ApiTls {
  readonly cert: string;
  readonly key: Secret;
  /** With a client CA, every API client must present a certificate it signed (mutual TLS). */
  readonly clientCa: string | undefined;
}

export interface TargetTls {
  /** CAs that https targets' certificates must chain to (instead of the system's). */
  readonly ca: string | undefined;
  /** The client certificate presented to https targets that ask for one (mutual TLS). */
  readonly cert: string | undefined;
  readonly key: Secret | undefined;
}

export interface ProxyConfig {
  /** The REST API's token. Required: the proxy never runs open. */
  readonly authToken: Secret;
  readonly port: number;
  readonly host: string;
  readonly apiPort: number;
  readonly apiHost: string;
  /** Serve the REST API over TLS, optionally requiring client certificates (CHP's --api-ssl-*). */
  readonly apiTls: ApiTls | undefined;
  /** TLS toward https targets: their CA and this proxy's client certificate (CHP's --client-ssl-*). */
  readonly targetTls: TargetTls | undefined;
  /** Prometheus metrics listener (`GET /metrics`), like CHP's --metrics-port. */
  readonly metricsPort: number;
  readonly metricsHost: string;
  /** Target of the `/` route added at start-up, like CHP's --default-target. */
  readonly defaultTarget: string | undefined;
  /** CHP's --error-target: where browsers' 404 and 503 pages come from (`<target>/<code>?url=…`). */
  readonly errorTarget: string | undefined;
  /** Route on `/<hostname>/<path>` instead of `/<path>` (CHP's --host-routing), for per-user subdomains. */
  readonly hostRouting: boolean;
  readonly logLevel: LogLevel;
  /** Give up connecting to a target after this long (503). */
  readonly connectTimeoutMs: number;
  /** Public listener: a client must send its request headers within this long. */
  readonly headersTimeoutMs: number;
  /** Public listener: idle keep-alive connections are closed after this long. */
  readonly keepAliveTimeoutMs: number;
  /** A WebSocket stamps its route's last_activity at most once per this interval. */
  readonly wsActivityIntervalMs: number;
  /** On shutdown, in-flight requests get this long to finish before their connections are cut. */
  readonly shutdownGraceMs: number;
  /**
   * Processes serving the public listener. 1: one process does everything. More: a primary owns the route table,
   * the REST API and metrics, and forks this many workers that share the public port (src/cluster.ts).
   */
  readonly workers: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly variable: string;

  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.variable = variable;
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadedConfig {
  readonly config: ProxyConfig;
  /** Non-fatal findings, e.g. an unknown BERTH_PROXY_* variable (a likely typo). */
  readonly warnings: readonly string[];
}

const TOKEN_ENV = 'CONFIGPROXY_AUTH_TOKEN';
const TOKEN_FILE_ENV = 'BERTH_PROXY_AUTH_TOKEN_FILE';

const KNOWN = new Set([
  TOKEN_FILE_ENV,
  'BERTH_PROXY_PORT',
  'BERTH_PROXY_HOST',
  'BERTH_PROXY_API_PORT',
  'BERTH_PROXY_API_HOST',
  'BERTH_PROXY_METRICS_PORT',
  'BERTH_PROXY_API_TLS_CERT_FILE',
  'BERTH_PROXY_API_TLS_KEY_FILE',
  'BERTH_PROXY_API_TLS_CLIENT_CA_FILE',
  'BERTH_PROXY_TARGET_TLS_CA_FILE',
  'BERTH_PROXY_TARGET_TLS_CERT_FILE',
  'BERTH_PROXY_TARGET_TLS_KEY_FILE',
  'BERTH_PROXY_METRICS_HOST',
  'BERTH_PROXY_DEFAULT_TARGET',
  'BERTH_PROXY_ERROR_TARGET',
  'BERTH_PROXY_HOST_ROUTING',
  'BERTH_PROXY_LOG_LEVEL',
  'BERTH_PROXY_CONNECT_TIMEOUT_MS',
  'BERTH_PROXY_HEADERS_TIMEOUT_MS',
  'BERTH_PROXY_KEEP_ALIVE_TIMEOUT_MS',
  'BERTH_PROXY_WS_ACTIVITY_INTERVAL_MS',
  'BERTH_PROXY_SHUTDOWN_GRACE_MS',
  'BERTH_PROXY_WORKERS',
]);

/** Node rejects a headers timeout above its request timeout (300 s by default). */
const MAX_HEADERS_TIMEOUT_MS = 300_000;
const DAY_MS = 86_400_000;

export function loadConfig(env: Env, readFile: (path: string) => string = readUtf8): LoadedConfig {
  const warnings = Object.keys(env)
    .filter((name) => name.startsWith('BERTH_PROXY_') && !KNOWN.has(name))
    .sort()
    .map((name) => `unknown variable ${name} is ignored (known: ${[...KNOWN].join(', ')})`);

  const headersTimeoutMs = integer(env, 'BERTH_PROXY_HEADERS_TIMEOUT_MS', 60_000, 1, MAX_HEADERS_TIMEOUT_MS);
  const config: ProxyConfig = {
    authToken: authToken(env, readFile),
    port: integer(env, 'BERTH_PROXY_PORT', 8000, 0, 65535),
    host: hostname(env, 'BERTH_PROXY_HOST'),
    apiPort: integer(env, 'BERTH_PROXY_API_PORT', 8001, 0, 65535),
    apiHost: hostname(env, 'BERTH_PROXY_API_HOST'),
    apiTls: apiTls(env, readFile),
    targetTls: targetTls(env, readFile),
    metricsPort: integer(env, 'BERTH_PROXY_METRICS_PORT', 8002, 0, 65535),
    metricsHost: hostname(env, 'BERTH_PROXY_METRICS_HOST'),
    defaultTarget: targetUrl(env, 'BERTH_PROXY_DEFAULT_TARGET'),
    errorTarget: targetUrl(env, 'BERTH_PROXY_ERROR_TARGET'),
    hostRouting: boolean(env, 'BERTH_PROXY_HOST_ROUTING', false),
    logLevel: logLevel(env),
    connectTimeoutMs: integer(env, 'BERTH_PROXY_CONNECT_TIMEOUT_MS', 10_000, 1, DAY_MS),
    headersTimeoutMs,
    keepAliveTimeoutMs: integer(env, 'BERTH_PROXY_KEEP_ALIVE_TIMEOUT_MS', 5_000, 1, DAY_MS),
    wsActivityIntervalMs: integer(env, 'BERTH_PROXY_WS_ACTIVITY_INTERVAL_MS', 10_000, 0, DAY_MS),
    shutdownGraceMs: integer(env, 'BERTH_PROXY_SHUTDOWN_GRACE_MS', 8_000, 0, DAY_MS),
    workers: integer(env, 'BERTH_PROXY_WORKERS', 1, 1, 64),
  };
  return { config: Object.freeze(config), warnings: Object.freeze(warnings) };
}

function readUtf8(path: string): string {
  return readFileSync(path, 'utf8');
}

function value(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

function authToken(env: Env, readFile: (path: string) => string): Secret {
  const direct = value(env, TOKEN_ENV);
  const file = value(env, TOKEN_FILE_ENV);
  if (direct !== undefined && file !== undefined) {
    throw new ConfigError(TOKEN_ENV, `set only one of ${TOKEN_ENV} and ${TOKEN_FILE_ENV}`);
  }
  let token = direct;
  let source = TOKEN_ENV;
  if (file !== undefined) {
    source = TOKEN_FILE_ENV;
    try {
      token = readFile(file).trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ConfigError(TOKEN_FILE_ENV, `cannot read the token file ${JSON.stringify(file)} (${code})`);
    }
  }
  if (token === undefined || token === '') {
    throw new ConfigError(
      source,
      `no API token: set ${TOKEN_ENV} or ${TOKEN_FILE_ENV} (a file holding the token). ` +
        'The proxy refuses to start without one, so its REST API is never open.',
    );
  }
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError(source, 'the token must be printable ASCII without whitespace');
  }
  return new Secret(token);
}

function pem(env: Env, name: string, readFile: (path: string) => string): string | undefined {
  const file = value(env, name);
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(name, `cannot read ${JSON.stringify(file)} (${code})`);
  }
  if (!text.includes('-----BEGIN ')) throw new ConfigError(name, `${JSON.stringify(file)} is not a PEM file`);
  return text;
}

function apiTls(env: Env, readFile: (path: string) => string): ApiTls | undefined {
  const cert = pem(env, 'BERTH_PROXY_API_TLS_CERT_FILE', readFile);
  const key = pem(env, 'BERTH_PROXY_API_TLS_KEY_FILE', readFile);
  const clientCa = pem(env, 'BERTH_PROXY_API_TLS_CLIENT_CA_FILE', readFile);
  if (cert === undefined && key === undefined) {
    if (clientCa !== undefined) {
      throw new ConfigError(
        'BERTH_PROXY_API_TLS_CLIENT_CA_FILE',
        'needs BERTH_PROXY_API_TLS_CERT_FILE and _KEY_FILE',
      );
    }
    return undefined;
  }
  if (cert === undefined) throw new ConfigError('BERTH_PROXY_API_TLS_CERT_FILE', 'set it with the key file');
  if (key === undefined)
    throw new ConfigError('BERTH_PROXY_API_TLS_KEY_FILE', 'set it with the certificate file');
  return Object.freeze({ cert, key: new Secret(key), clientCa });
}

function targetTls(env: Env, readFile: (path: string) => string): TargetTls | undefined {
  const ca = pem(env, 'BERTH_PROXY_TARGET_TLS_CA_FILE', readFile);
  const cert = pem(env, 'BERTH_PROXY_TARGET_TLS_CERT_FILE', readFile);
  const key = pem(env, 'BERTH_PROXY_TARGET_TLS_KEY_FILE', readFile);
  if ((cert === undefined) !== (key === undefined)) {
    const missing =
      cert === undefined ? 'BERTH_PROXY_TARGET_TLS_CERT_FILE' : 'BERTH_PROXY_TARGET_TLS_KEY_FILE';
    throw new ConfigError(missing, 'the client certificate and its key go together');
  }
  if (ca === undefined && cert === undefined) return undefined;
  return Object.freeze({ ca, cert, key: key === undefined ? undefined : new Secret(key) });
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  const parsed = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new ConfigError(name, `expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return parsed;
}

function hostname(env: Env, name: string): string {
  const raw = value(env, name) ?? '0.0.0.0';
  if (!/^[A-Za-z0-9.:_-]+$/.test(raw)) {
    throw new ConfigError(name, `expected a bind address or host name, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = value(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `expected true or false, got ${JSON.stringify(raw)}`);
}

function targetUrl(env: Env, name: string): string | undefined {
  const raw = value(env, name);
  if (raw === undefined) return undefined;
  const parsed = parseTarget(raw);
  if (!parsed.ok) throw new ConfigError(name, parsed.reason);
  return raw;
}

function logLevel(env: Env): LogLevel {
  const raw = value(env, 'BERTH_PROXY_LOG_LEVEL')?.toLowerCase() ?? 'info';
  const level = LOG_LEVELS.find((known) => known === raw);
  if (level === undefined) {
    throw new ConfigError(
      'BERTH_PROXY_LOG_LEVEL',
      `expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(raw)}`,
    );
  }
  return level;
}

import { chmodSync, chownSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ensureSecretFile } from '../secrets.ts';
import { initInternalTls, parseRotate } from '../tls/init.ts';

function owner(spec: string | undefined, fallback: [number, number]): [number, number] {
  if (!spec) return fallback;
  const [u, g] = spec.split(':').map(Number);
  if (!Number.isInteger(u) || !Number.isInteger(g))
    throw new TypeError(`bad owner ${spec}; expected uid:gid`);
  return [u as number, g as number];
}

const names = (raw: string | undefined, fallback: string) =>
  (raw || fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const days = (raw: string | undefined, fallback: number, name: string) => {
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new TypeError(`${name}: expected a whole number of days`);
  return Number(raw);
};

/**
 * Internal TLS (BERTH_INTERNAL_TLS, on unless 0): the authorities, once, in the hub's secrets, and the hub's and
 * the proxy's certificates, re-issued when a third of their lifetime is left or their names changed.
 */
export async function initTls(env: NodeJS.ProcessEnv): Promise<string[]> {
  if (env.BERTH_INTERNAL_TLS === '0' || env.BERTH_INTERNAL_TLS === 'false') return ['internal TLS is off'];
  const [hubUid, hubGid] = owner(env.BERTH_HUB_OWNER, [1000, 1000]);
  const [proxyUid, proxyGid] = owner(env.BERTH_PROXY_OWNER, [1000, 1000]);
  // The compose init step runs as root and hands each file to its service; as anyone else, files stay theirs.
  const chown = process.getuid?.() === 0;
  return initInternalTls({
    secretsDir: env.BERTH_SECRETS_DIR ?? '/secrets',
    ...(chown
      ? { hubOwner: { uid: hubUid, gid: hubGid }, proxyOwner: { uid: proxyUid, gid: proxyGid } }
      : {}),
    caDays: days(env.BERTH_INTERNAL_TLS_CA_DAYS, 3650, 'BERTH_INTERNAL_TLS_CA_DAYS'),
    serviceCertDays: days(
      env.BERTH_INTERNAL_TLS_SERVICE_CERT_DAYS,
      365,
      'BERTH_INTERNAL_TLS_SERVICE_CERT_DAYS',
    ),
    hubNames: names(env.BERTH_INTERNAL_TLS_HUB_NAMES, 'hub'),
    proxyNames: names(env.BERTH_INTERNAL_TLS_PROXY_NAMES, 'proxy,proxy-api'),
    rotate: parseRotate(env.BERTH_INTERNAL_TLS_ROTATE),
  });
}

/**
 * Create every missing secret of a compose deployment, each 0600 and owned by the one service that reads it.
 * Runs once as root before the other services start; existing files are kept, so secrets survive restarts.
 */
export function initSecrets(env: NodeJS.ProcessEnv): string[] {
  const dir = env.BERTH_SECRETS_DIR ?? '/secrets';
  // As root (the compose init step) each file goes to its service's user; as anyone else (`berth stack-file`,
  // where Swarm sets the owner when it mounts the secret) files stay the caller's.
  const root = process.getuid?.() === 0;
  const none: [] = [];
  const hub = root ? owner(env.BERTH_HUB_OWNER, [1000, 1000]) : none;
  const proxy = root ? owner(env.BERTH_PROXY_OWNER, [1000, 1000]) : none;
  const pg = root ? owner(env.BERTH_POSTGRES_OWNER, [999, 999]) : none;
  const lines: string[] = [];
  const made = (path: string, created: boolean) => lines.push(`${created ? 'created' : 'kept'} ${path}`);
  const cookie = `${dir}/hub/cookie_secret`;
  made(cookie, ensureSecretFile(cookie, 32, ...hub));
  // The key that encrypts auth state (refresh tokens, kept attributes): BERTH_AUTH_STATE_KEY_FILE. Rotation
  // (a new first line) is the admin's, so an existing file is never touched.
  const authStateKey = `${dir}/hub/auth_state_key`;
  made(authStateKey, ensureSecretFile(authStateKey, 32, ...hub));
  // The proxy token is read by the proxy and by the hub; both run as the same uid.
  const proxyToken = `${dir}/proxy/auth_token`;
  made(proxyToken, ensureSecretFile(proxyToken, 32, ...proxy));
  const dbPassword = `${dir}/db/password`;
  made(dbPassword, ensureSecretFile(dbPassword, 24, ...pg));
  // The hub reads its own copy of the database password, owned by the hub user.
  const hubCopy = `${dir}/hub/db_password`;
  const want = readFileSync(dbPassword);
  if (!existsSync(hubCopy) || !readFileSync(hubCopy).equals(want)) {
    writeFileSync(hubCopy, want, { mode: 0o600 });
    chmodSync(hubCopy, 0o600);
    if (root) chownSync(hubCopy, ...(hub as [number, number]));
    lines.push(`created ${hubCopy}`);
  }
  return lines;
}

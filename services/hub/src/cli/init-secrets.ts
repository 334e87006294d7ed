import { chmodSync, chownSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ensureSecretFile } from '../secrets.ts';

function owner(spec: string | undefined, fallback: [number, number]): [number, number] {
  if (!spec) return fallback;
  const [u, g] = spec.split(':').map(Number);
  if (!Number.isInteger(u) || !Number.isInteger(g))
    throw new TypeError(`bad owner ${spec}; expected uid:gid`);
  return [u as number, g as number];
}

/**
 * Create every missing secret of a compose deployment, each 0600 and owned by the one service that reads it.
 * Runs once as root before the other services start; existing files are kept, so secrets survive restarts.
 */
export function initSecrets(env: NodeJS.ProcessEnv): string[] {
  const dir = env.BERTH_SECRETS_DIR ?? '/secrets';
  const hub = owner(env.BERTH_HUB_OWNER, [1000, 1000]);
  const proxy = owner(env.BERTH_PROXY_OWNER, [1000, 1000]);
  const pg = owner(env.BERTH_POSTGRES_OWNER, [999, 999]);
  const lines: string[] = [];
  const made = (path: string, created: boolean) => lines.push(`${created ? 'created' : 'kept'} ${path}`);
  const cookie = `${dir}/hub/cookie_secret`;
  made(cookie, ensureSecretFile(cookie, 32, ...hub));
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
    chownSync(hubCopy, ...hub);
    lines.push(`created ${hubCopy}`);
  }
  return lines;
}

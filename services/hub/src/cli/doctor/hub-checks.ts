import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Kysely, sql } from 'kysely';
import { Agent, fetch as undiciFetch } from 'undici';
import { ROLE_SCOPES } from '../../authz/scopes.ts';
import type { Config } from '../../config/schema.ts';
import type { Database } from '../../db/schema.ts';
import { type Finding, fail, pass, warn } from './report.ts';

const PINNED = /(^sha256:[0-9a-f]{64}$)|(@sha256:[0-9a-f]{64}$)/;

/** What the database says: admins, token storage, profile image pins. */
export async function databaseChecks(db: Kysely<Database>): Promise<Finding[]> {
  const out: Finding[] = [];
  const admins = await db
    .selectFrom('users')
    .select('name')
    .where('admin', '=', true)
    .orderBy('name')
    .execute();
  out.push(
    admins.length === 0
      ? warn('accounts.admins', 'no admin account (berth user add <name> --admin)')
      : pass('accounts.admins', `${admins.length} admin(s): ${admins.map((a) => a.name).join(', ')}`),
  );
  const { rows: tok } = await sql<{ bad: string; n: string }>`
    select count(*) filter (where hash !~ '^[0-9a-f]{64}$') as bad, count(*) as n from api_tokens`.execute(
    db,
  );
  const badTokens = Number(tok[0]?.bad ?? 0);
  out.push(
    badTokens > 0
      ? fail('secrets.tokens-hashed', `${badTokens} token row(s) are not sha256 hashes`)
      : pass('secrets.tokens-hashed', `${tok[0]?.n ?? 0} API/OAuth token(s), stored only as sha256 hashes`),
  );
  try {
    const { rows } = await sql<{ name: string; image: string | null }>`
      select p.name, v.spec ->> 'image' as image
      from profiles p
      join lateral (select spec, retired from profile_versions where profile_id = p.id
                    order by version desc limit 1) v on true
      where not v.retired order by p.name`.execute(db);
    const loose = rows.filter((r) => !PINNED.test(r.image ?? ''));
    out.push(
      loose.length > 0
        ? fail(
            'images.pinned',
            `profile image(s) not pinned by digest: ${loose.map((r) => `${r.name}=${r.image}`).join(', ')}`,
          )
        : pass('images.pinned', `${rows.length} active profile(s), each pinned by digest or image id`),
    );
  } catch {
    out.push(warn('images.pinned', 'this hub has no profiles table yet'));
  }
  return out;
}

/** What the configuration says. */
export function configChecks(config: Config, running: { image?: string | undefined }[]): Finding[] {
  const out: Finding[] = [];
  const c = config as Config & {
    internalTls?: { enabled?: boolean; dir?: string };
    auth?: { allowAll?: boolean; authStateKeyFile?: string; oidc?: unknown };
  };
  const perMin = config.sessions.loginAttemptsPerMinute;
  out.push(
    perMin > 0 && perMin <= 60
      ? pass('accounts.login-throttle', `at most ${perMin} login attempts per minute per user name`)
      : fail(
          'accounts.login-throttle',
          `BERTH_LOGIN_ATTEMPTS_PER_MINUTE=${perMin}: logins are not throttled`,
        ),
  );
  const adminAccess = (ROLE_SCOPES.admin as readonly string[]).includes('access:servers');
  out.push(
    adminAccess
      ? warn(
          'accounts.admin-access',
          "admins hold access:servers: they can open users' servers; users are told, and each access is audited (GET /hub/api/audit?action=server.access)",
        )
      : pass('accounts.admin-access', "admins cannot open other users' servers"),
  );
  if (c.auth?.allowAll) {
    out.push(warn('accounts.allow-list', 'BERTH_ALLOW_ALL=1: anyone the authenticator accepts may log in'));
  } else {
    out.push(pass('accounts.allow-list', 'only allowed users and groups may log in'));
  }
  const unpinned = running.filter((r) => r.image && !PINNED.test(r.image));
  out.push(
    unpinned.length > 0
      ? fail(
          'images.running',
          `servers started from unpinned image(s): ${[...new Set(unpinned.map((r) => r.image))].join(', ')}`,
        )
      : pass('images.running', `${running.length} running server(s), each started from a pinned image`),
  );
  const tls = c.internalTls;
  if (tls?.enabled) {
    const cert = tls.dir ? `${tls.dir}/hub.crt` : '';
    let detail: Finding;
    try {
      const x = new X509Certificate(readFileSync(cert));
      const days = Math.floor((Date.parse(x.validTo) - Date.now()) / 86_400_000);
      detail =
        days < 0
          ? fail('tls.internal', `the hub's certificate ${cert} expired on ${x.validTo}`)
          : days < 14
            ? warn('tls.internal', `the hub's certificate ${cert} expires in ${days} days (${x.validTo})`)
            : pass(
                'tls.internal',
                `internal TLS on: mutual TLS between proxy, hub and servers; hub certificate valid ${days} more days`,
              );
    } catch (e) {
      detail = fail('tls.internal', `internal TLS is on but ${cert} cannot be read: ${(e as Error).message}`);
    }
    out.push(detail);
  } else {
    out.push(
      warn('tls.internal', 'internal TLS is off: hops behind the edge are plain HTTP on internal networks'),
    );
  }
  return out;
}

/** Ask the running hub: it must refuse a token in the URL. With internal TLS it presents its own certificate. */
export async function liveChecks(hubUrl: string, tlsDir?: string): Promise<Finding[]> {
  const read = (f: string) => readFileSync(`${tlsDir}/${f}`);
  let dispatcher: Agent;
  try {
    dispatcher = new Agent({
      connect: tlsDir
        ? { ca: read('hub-ca.crt'), cert: read('hub.crt'), key: read('hub.key'), servername: 'hub' }
        : {},
    });
  } catch (e) {
    return [
      warn('tokens.not-in-url', `cannot read the hub's TLS files in ${tlsDir}: ${(e as Error).message}`),
    ];
  }
  try {
    const res = await undiciFetch(`${hubUrl}/hub/api/user?token=doctor-probe`, {
      signal: AbortSignal.timeout(5000),
      dispatcher,
    });
    return [
      res.status === 400
        ? pass('tokens.not-in-url', 'the hub refuses ?token= (400)')
        : fail('tokens.not-in-url', `the hub answered ${res.status} to ?token=`),
    ];
  } catch (e) {
    return [warn('tokens.not-in-url', `cannot ask the hub at ${hubUrl}: ${(e as Error).message}`)];
  } finally {
    await dispatcher.close();
  }
}

import { bool, ConfigError, fromFileOrEnv, int, opt } from './load.ts';
import { OIDC_PROVIDER_NAME_RE, OIDC_RESERVED_NAMES } from './schema.ts';

/**
 * OIDC providers from the environment. `oidc` in BERTH_AUTHENTICATORS reads BERTH_OIDC_<SETTING>; each
 * `oidc:<name>` reads BERTH_OIDC_<NAME>_<SETTING> (e.g. oidc:gitlab → BERTH_OIDC_GITLAB_ISSUER). Every
 * BERTH_OIDC_* variable must belong to an enabled provider, so a typo or a forgotten provider stops the hub.
 */

type Env = Readonly<Record<string, string | undefined>>;

/** Schema key → the setting's suffix. */
const SETTING: Record<string, string> = {
  displayName: 'DISPLAY_NAME',
  issuer: 'ISSUER',
  clientId: 'CLIENT_ID',
  clientSecret: 'CLIENT_SECRET',
  scopes: 'SCOPES',
  usernameClaim: 'USERNAME_CLAIM',
  groupsClaim: 'GROUPS_CLAIM',
  caFile: 'CA_FILE',
  timeoutMs: 'TIMEOUT_SECONDS',
  logoutAtIdp: 'LOGOUT_AT_IDP',
  authStateClaims: 'AUTH_STATE_CLAIMS',
};
const SUFFIXES = new Set([...Object.values(SETTING), 'CLIENT_SECRET_FILE']);

export function oidcPrefix(name?: string): string {
  return name ? `BERTH_OIDC_${name.toUpperCase()}_` : 'BERTH_OIDC_';
}

function provider(env: Env, prefix: string, displayName: string) {
  const v = (s: string) => env[`${prefix}${s}`];
  return {
    displayName: v('DISPLAY_NAME') || displayName,
    issuer: v('ISSUER') ?? '',
    clientId: v('CLIENT_ID') ?? '',
    clientSecret: fromFileOrEnv(env, `${prefix}CLIENT_SECRET`) ?? '',
    scopes: (v('SCOPES') || 'openid profile email groups').split(/[\s,]+/).filter(Boolean),
    usernameClaim: v('USERNAME_CLAIM') || 'preferred_username',
    groupsClaim: v('GROUPS_CLAIM') || 'groups',
    caFile: opt(v('CA_FILE')),
    timeoutMs: int(env, `${prefix}TIMEOUT_SECONDS`, 10) * 1000,
    logoutAtIdp: bool(env, `${prefix}LOGOUT_AT_IDP`, true),
    authStateClaims: (v('AUTH_STATE_CLAIMS') ?? '').split(/[\s,]+/).filter(Boolean),
  };
}

export function oidcFromEnv(env: Env, authenticators: readonly string[]) {
  const names = authenticators.filter((k) => k.startsWith('oidc:')).map((k) => k.slice(5));
  const unnamed = authenticators.includes('oidc');
  for (const n of names) {
    if (!OIDC_PROVIDER_NAME_RE.test(n) || (OIDC_RESERVED_NAMES as readonly string[]).includes(n)) {
      throw new ConfigError(
        `BERTH_AUTHENTICATORS: oidc:${n.slice(0, 32)} is not a usable provider name (a-z then up to 15 of a-z0-9, not ${OIDC_RESERVED_NAMES.join(', ')})`,
      );
    }
  }
  for (const key of Object.keys(env)) {
    if (!key.startsWith('BERTH_OIDC_') || !env[key]) continue;
    if (names.some((n) => key.startsWith(oidcPrefix(n)) && SUFFIXES.has(key.slice(oidcPrefix(n).length)))) {
      continue;
    }
    if (SUFFIXES.has(key.slice('BERTH_OIDC_'.length))) {
      if (unnamed) continue;
      throw new ConfigError(`${key} is set, but oidc is not in BERTH_AUTHENTICATORS`);
    }
    throw new ConfigError(
      `${key} is set, but no enabled OIDC provider reads it (oidc reads BERTH_OIDC_<SETTING>, oidc:<name> reads BERTH_OIDC_<NAME>_<SETTING>)`,
    );
  }
  return {
    oidc: unnamed ? provider(env, oidcPrefix(), 'single sign-on') : undefined,
    oidcProviders: Object.fromEntries(names.map((n) => [n, provider(env, oidcPrefix(n), n)])),
  };
}

/** The variable behind a schema path under auth.oidc or auth.oidcProviders, for error messages. */
export function oidcEnvName(path: string): string | undefined {
  const unnamed = /^auth\.oidc\.(\w+)/.exec(path);
  if (unnamed?.[1]) return SETTING[unnamed[1]] && `BERTH_OIDC_${SETTING[unnamed[1]]}`;
  const named = /^auth\.oidcProviders\.([^.]+)(?:\.(\w+))?/.exec(path);
  if (!named?.[1]) return path === 'auth.oidcProviders' ? 'BERTH_AUTHENTICATORS' : undefined;
  const setting = named[2] ? SETTING[named[2]] : undefined;
  return setting ? `${oidcPrefix(named[1])}${setting}` : 'BERTH_AUTHENTICATORS';
}

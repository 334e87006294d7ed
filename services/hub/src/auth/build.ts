import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { AccessSets } from './access-policy.ts';
import type { Authenticator } from './authenticator.ts';
import { LdapAuthenticator, LdapConfigError } from './ldap/ldap-authenticator.ts';
import { type LocalAccounts, LocalAuthenticator } from './local/local-authenticator.ts';
import { OidcAuthenticator, oidcBasePath } from './oidc/oidc-authenticator.ts';
import { StateSealer } from './state-crypto.ts';

/**
 * The enabled authenticators, in configuration order. Anything that cannot work throws a ConfigError naming
 * the setting, so the hub stops at boot: an authenticator is never silently skipped.
 */
export function buildAuthenticators(
  auth: Config['auth'],
  deps: { local: LocalAccounts; publicUrl: string },
): Authenticator[] {
  return auth.authenticators.map((kind): Authenticator => {
    if (kind.startsWith('oidc:')) {
      const name = kind.slice('oidc:'.length);
      const o = auth.oidcProviders[name];
      const setting = `BERTH_OIDC_${name.toUpperCase()}_`;
      if (!o) throw new ConfigError(`${setting}ISSUER: required when ${kind} is enabled`);
      return oidc(kind, o, `${setting}CA_FILE`, deps.publicUrl);
    }
    switch (kind) {
      case 'local':
        return new LocalAuthenticator(deps.local);
      case 'ldap': {
        const l = auth.ldap;
        if (!l) throw new ConfigError('BERTH_LDAP_URL: required when ldap is enabled');
        const ca = l.caFile ? readPem(l.caFile, 'BERTH_LDAP_CA_FILE') : undefined;
        try {
          return new LdapAuthenticator({ ...l, ...(ca ? { ca } : {}) });
        } catch (err) {
          if (err instanceof LdapConfigError) throw new ConfigError(err.message);
          throw err;
        }
      }
      case 'oidc': {
        const o = auth.oidc;
        if (!o) throw new ConfigError('BERTH_OIDC_ISSUER: required when oidc is enabled');
        return oidc('oidc', o, 'BERTH_OIDC_CA_FILE', deps.publicUrl);
      }
    }
    throw new ConfigError(`BERTH_AUTHENTICATORS: unknown authenticator ${JSON.stringify(kind)}`);
  });
}

type OidcSection = NonNullable<Config['auth']['oidc']>;

function oidc(kind: string, o: OidcSection, caSetting: string, publicUrl: string): OidcAuthenticator {
  const ca = o.caFile ? readPem(o.caFile, caSetting) : undefined;
  const { caFile: _, ...rest } = o;
  return new OidcAuthenticator({
    ...rest,
    kind,
    redirectUri: new URL(`${oidcBasePath(kind)}/callback`, publicUrl).href,
    ...(ca ? { ca } : {}),
  });
}

export function accessSets(auth: Config['auth']): AccessSets {
  const { allowedUsers, blockedUsers, allowedGroups, adminUsers, adminGroups, allowAll } = auth;
  return { allowedUsers, blockedUsers, allowedGroups, adminUsers, adminGroups, allowAll };
}

function readPem(file: string, setting: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${setting}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(`${setting}: ${file} holds no PEM certificate`);
  }
  return pem;
}

/** The auth state sealer from BERTH_AUTH_STATE_KEY_FILE; required by authenticators that keep secrets (oidc). */
export function buildSealer(auth: Config['auth']): StateSealer | undefined {
  if (!auth.authStateKeyFile) return undefined;
  let text: string;
  try {
    text = readFileSync(auth.authStateKeyFile, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `BERTH_AUTH_STATE_KEY_FILE: cannot read ${auth.authStateKeyFile}: ${(err as NodeJS.ErrnoException).code}`,
    );
  }
  try {
    return new StateSealer(text);
  } catch (err) {
    throw new ConfigError(`BERTH_AUTH_STATE_KEY_FILE: ${(err as Error).message}`);
  }
}

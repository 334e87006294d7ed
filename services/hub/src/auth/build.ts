import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { AccessSets } from './access-policy.ts';
import type { Authenticator } from './authenticator.ts';
import { LdapAuthenticator, LdapConfigError } from './ldap/ldap-authenticator.ts';
import { type LocalAccounts, LocalAuthenticator } from './local/local-authenticator.ts';

/**
 * The enabled authenticators, in configuration order. Anything that cannot work throws a ConfigError naming
 * the setting, so the hub stops at boot: an authenticator is never silently skipped.
 */
export function buildAuthenticators(auth: Config['auth'], deps: { local: LocalAccounts }): Authenticator[] {
  return auth.authenticators.map((kind): Authenticator => {
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
    }
    throw new ConfigError(`BERTH_AUTHENTICATORS: unknown authenticator ${JSON.stringify(kind)}`);
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

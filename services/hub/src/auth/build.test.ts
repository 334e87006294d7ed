import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/load.ts';
import { buildAuthenticators } from './build.ts';

const env = {
  BERTH_DATABASE_URL: 'postgres://u:p@127.0.0.1/db',
  CONFIGPROXY_AUTH_TOKEN: 'x'.repeat(32),
};
const ldapEnv = {
  ...env,
  BERTH_AUTHENTICATORS: 'local,ldap',
  BERTH_ALLOWED_GROUPS: 'researchers',
  BERTH_LDAP_URL: 'ldaps://ldap.example.org',
  BERTH_LDAP_BIND_DN_TEMPLATE: 'uid={username},ou=people,dc=example,dc=org',
};
const deps = { local: { byName: async () => undefined }, publicUrl: 'https://hub.example.org' };

describe('authenticator configuration is checked at boot', () => {
  it('defaults to local accounts only', () => {
    const c = loadConfig(env);
    assert.deepEqual(c.auth.authenticators, ['local']);
    assert.deepEqual(
      buildAuthenticators(c.auth, deps).map((a) => a.kind),
      ['local'],
    );
  });

  it('enables several authenticators in order', () => {
    const c = loadConfig(ldapEnv);
    assert.deepEqual(
      buildAuthenticators(c.auth, deps).map((a) => a.kind),
      ['local', 'ldap'],
    );
  });

  const refuses = (patch: Record<string, string | undefined>, name: RegExp) =>
    assert.throws(() => buildAuthenticators(loadConfig({ ...ldapEnv, ...patch }).auth, deps), name);

  it('names the setting of every mistake', () => {
    refuses({ BERTH_LDAP_URL: undefined }, /BERTH_LDAP_URL/);
    refuses({ BERTH_LDAP_URL: 'http://ldap' }, /BERTH_LDAP_URL/);
    refuses({ BERTH_ALLOWED_GROUPS: undefined }, /BERTH_ALLOW_ALL/);
    refuses({ BERTH_LDAP_SEARCH_BASE: 'dc=example,dc=org' }, /BERTH_LDAP_BIND_DN_TEMPLATE/);
    refuses({ BERTH_LDAP_BIND_DN_TEMPLATE: 'uid=x,dc=org' }, /BERTH_LDAP_BIND_DN_TEMPLATE/);
    refuses({ BERTH_LDAP_START_TLS: '1' }, /BERTH_LDAP_START_TLS/);
    refuses({ BERTH_LDAP_CA_FILE: '/nonexistent/ca.pem' }, /BERTH_LDAP_CA_FILE/);
    refuses({ BERTH_LDAP_USER_FILTER: '(objectClass=' }, /BERTH_LDAP_USER_FILTER/);
    refuses({ BERTH_AUTHENTICATORS: 'local,kerberos' }, /BERTH_AUTHENTICATORS/);
    refuses({ BERTH_ADMIN_USERS: 'Not A Name!' }, /BERTH_ADMIN_USERS/);
  });

  it('refuses LDAP settings for an authenticator that is not enabled', () => {
    assert.throws(
      () => loadConfig({ ...env, BERTH_LDAP_URL: 'ldap://x' }),
      /BERTH_LDAP_URL.*BERTH_AUTHENTICATORS/,
    );
  });
});

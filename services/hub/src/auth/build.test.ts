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

describe('several OIDC providers are configured by name (oidc:<name> → BERTH_OIDC_<NAME>_*)', () => {
  const two = {
    ...env,
    BERTH_AUTHENTICATORS: 'local,oidc,oidc:gitlab',
    BERTH_ALLOWED_GROUPS: 'researchers',
    BERTH_AUTH_STATE_KEY_FILE: '/run/berth/hub/auth_state.key',
    BERTH_OIDC_ISSUER: 'https://sso.example.org',
    BERTH_OIDC_CLIENT_ID: 'berth',
    BERTH_OIDC_CLIENT_SECRET: 'secret-a',
    BERTH_OIDC_GITLAB_DISPLAY_NAME: 'GitLab',
    BERTH_OIDC_GITLAB_ISSUER: 'https://gitlab.example.org',
    BERTH_OIDC_GITLAB_CLIENT_ID: 'berth-gl',
    BERTH_OIDC_GITLAB_CLIENT_SECRET: 'secret-b',
  };

  it('builds one authenticator per provider, each with its own callback', () => {
    const c = loadConfig(two);
    assert.equal(c.auth.oidcProviders.gitlab?.issuer, 'https://gitlab.example.org');
    assert.equal(c.auth.oidcProviders.gitlab?.displayName, 'GitLab');
    const built = buildAuthenticators(c.auth, deps);
    assert.deepEqual(
      built.map((a) => a.kind),
      ['local', 'oidc', 'oidc:gitlab'],
    );
    const redirects = built.map((a) => (a as { redirectUri?: string }).redirectUri);
    assert.deepEqual(redirects, [
      undefined,
      'https://hub.example.org/hub/oidc/callback',
      'https://hub.example.org/hub/oidc/gitlab/callback',
    ]);
  });

  const refusesLoad = (patch: Record<string, string | undefined>, name: RegExp) =>
    assert.throws(() => loadConfig({ ...two, ...patch }), name);

  it('names the setting of every mistake', () => {
    refusesLoad({ BERTH_OIDC_GITLAB_ISSUER: undefined }, /BERTH_OIDC_GITLAB_ISSUER/);
    refusesLoad({ BERTH_OIDC_GITLAB_ISSUER: 'ftp://gitlab' }, /BERTH_OIDC_GITLAB_ISSUER/);
    refusesLoad({ BERTH_OIDC_GITLAB_CLIENT_SECRET: undefined }, /BERTH_OIDC_GITLAB_CLIENT_SECRET/);
    refusesLoad(
      { BERTH_OIDC_GITLAB_ISUER: 'https://typo' },
      /BERTH_OIDC_GITLAB_ISUER.*no enabled OIDC provider/,
    );
    refusesLoad({ BERTH_OIDC_GITHUB_ISSUER: 'https://github.com' }, /BERTH_OIDC_GITHUB_ISSUER/);
    refusesLoad({ BERTH_AUTHENTICATORS: 'local,oidc' }, /BERTH_OIDC_GITLAB_DISPLAY_NAME/);
    refusesLoad({ BERTH_AUTHENTICATORS: 'local,oidc,oidc:client' }, /BERTH_AUTHENTICATORS|reserved/);
    refusesLoad({ BERTH_AUTHENTICATORS: 'local,oidc,oidc:git-lab' }, /BERTH_AUTHENTICATORS/);
    refusesLoad({ BERTH_OIDC_DISPLAY_NAME: 'GitLab' }, /same display name/);
    refusesLoad({ BERTH_AUTH_STATE_KEY_FILE: undefined }, /BERTH_AUTH_STATE_KEY_FILE/);
  });

  it('keeps the unnamed provider optional: only named ones', () => {
    const c = loadConfig({
      ...env,
      BERTH_AUTHENTICATORS: 'oidc:gitlab',
      BERTH_ALLOW_ALL: '1',
      BERTH_AUTH_STATE_KEY_FILE: '/k',
      BERTH_OIDC_GITLAB_ISSUER: 'https://gitlab.example.org',
      BERTH_OIDC_GITLAB_CLIENT_ID: 'berth-gl',
      BERTH_OIDC_GITLAB_CLIENT_SECRET: 'secret-b',
    });
    assert.equal(c.auth.oidc, undefined);
    assert.equal(c.auth.oidcProviders.gitlab?.displayName, 'gitlab');
  });
});

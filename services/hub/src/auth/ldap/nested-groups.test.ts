import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LdapAuthenticator, type LdapOptions } from './ldap-authenticator.ts';
import { GROUPS, type OpenLdap, PEOPLE, startOpenLdap } from './testing/openldap.ts';

/** Nested groups against real slapd: bob is in researchers, researchers in staff, staff in everyone, everyone in org. */
describe('LDAP nested groups (optional)', () => {
  let l: OpenLdap;
  const opts = (from: 'memberOf' | 'search', nested: boolean): LdapOptions => ({
    url: l.url,
    startTls: true,
    ca: l.ca,
    bindDnTemplate: `uid={username},${PEOPLE}`,
    usernameAttribute: 'uid',
    groups: { from, searchBase: GROUPS, memberAttribute: 'member', nameAttribute: 'cn', nested },
    connectTimeoutMs: 5000,
    timeoutMs: 5000,
  });
  const groupsOf = async (o: LdapOptions) => {
    const out = await new LdapAuthenticator(o).authenticate({
      kind: 'password',
      username: 'bob',
      password: 'bob-password',
    });
    assert.ok(out.ok);
    return [...(out.groups ?? [])].sort();
  };

  before(async () => {
    l = await startOpenLdap();
    await l.addGroup('staff', [`cn=researchers,${GROUPS}`]);
    await l.addGroup('everyone', [`cn=staff,${GROUPS}`]);
    await l.addGroup('org', [`cn=everyone,${GROUPS}`]);
  });
  after(async () => l?.stop());

  it('follows nested groups when enabled, with groups from memberOf or from a search', async () => {
    for (const from of ['memberOf', 'search'] as const) {
      const plain = await groupsOf(opts(from, false));
      assert.ok(plain.includes('researchers') && !plain.includes('staff'), `${from}, not nested: ${plain}`);
      const nested = await groupsOf(opts(from, true));
      for (const g of ['researchers', 'staff', 'everyone', 'org']) {
        assert.ok(nested.includes(g), `${from}, nested: ${g} missing from ${nested}`);
      }
    }
  });
});

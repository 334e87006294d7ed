import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BrowserClient, xsrfFrom } from '../../testing/browser-client.ts';
import { type Harness, startHarness } from '../../testing/hub-harness.ts';
import { authenticatorConformance } from '../authenticator.conformance.ts';
import { LdapAuthenticator, type LdapOptions } from './ldap-authenticator.ts';
import {
  GROUPS,
  type OpenLdap,
  PEOPLE,
  SERVICE_DN,
  SERVICE_PASSWORD,
  startOpenLdap,
} from './testing/openldap.ts';

let ldapP: Promise<OpenLdap> | undefined;
const ldap = () => {
  ldapP ??= startOpenLdap();
  return ldapP;
};
after(async () => (await ldapP)?.stop());

/** A TCP server that accepts connections and never answers: a directory that hangs. */
async function silentServer(): Promise<{ port: number; close(): void }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.resume();
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const common = {
  usernameAttribute: 'uid',
  connectTimeoutMs: 3000,
  timeoutMs: 3000,
  groups: { from: 'memberOf', memberAttribute: 'member', nameAttribute: 'cn' },
} as const;

/** Direct bind over StartTLS, groups from memberOf. */
const directStartTls = (l: OpenLdap): LdapOptions => ({
  ...common,
  url: l.url,
  startTls: true,
  ca: l.ca,
  bindDnTemplate: `uid={username},${PEOPLE}`,
});

/** Search-then-bind with the service account over LDAPS, groups from a group search. */
const searchLdaps = (l: OpenLdap): LdapOptions => ({
  ...common,
  url: l.ldapsUrl,
  startTls: false,
  ca: l.ca,
  searchBase: PEOPLE,
  bindDn: SERVICE_DN,
  bindPassword: SERVICE_PASSWORD,
  userFilter: '(objectClass=inetOrgPerson)',
  groups: { from: 'search', searchBase: GROUPS, memberAttribute: 'member', nameAttribute: 'cn' },
});

for (const [label, options] of [
  ['LDAP direct bind, StartTLS, memberOf', directStartTls],
  ['LDAP search-then-bind, LDAPS, group search', searchLdaps],
] as const) {
  authenticatorConformance(label, async () => {
    const l = await ldap();
    return {
      authenticator: new LdapAuthenticator(options(l)),
      admin: { username: 'alice', password: 'alice-password' },
      member: { username: 'bob', password: 'bob-password' },
      outsider: { username: 'carol', password: 'carol-password' },
      allowedGroup: 'researchers',
      adminGroup: 'hub-admins',
      setMember: (u, g, m) => l.setMember(u, g, m),
      async close() {},
    };
  });
}

describe('LDAP authenticator against slapd', () => {
  it('refuses filter and DN injection, NUL, empty passwords and huge names, even when called directly', async () => {
    const l = await ldap();
    const attacks = [
      '*',
      '*)(uid=*',
      'admin)(|(uid=*',
      'alice)(|(uid=*',
      'al*',
      'alice,ou=people,dc=example,dc=org',
      'uid=alice,ou=people,dc=example,dc=org',
      'alice\0',
      'alice\0)(uid=*',
      'x'.repeat(1024 * 1024),
    ];
    for (const make of [directStartTls, searchLdaps]) {
      const a = new LdapAuthenticator(make(l));
      for (const username of attacks) {
        // alice's real password: an injection that reached alice's entry would log in.
        const r = await a.authenticate({ kind: 'password', username, password: 'alice-password' });
        assert.deepEqual(r.ok, false, `${make.name}: ${JSON.stringify(username.slice(0, 40))}`);
      }
      for (const password of ['', ' ', '\t']) {
        const r = await a.authenticate({ kind: 'password', username: 'alice', password });
        assert.equal(r.ok, false, `${make.name}: empty password ${JSON.stringify(password)}`);
      }
      const ok = await a.authenticate({ kind: 'password', username: 'alice', password: 'alice-password' });
      assert.equal(ok.ok, true, `${make.name}: the real alice still logs in`);
    }
  });

  it('verifies the server certificate: LDAPS and StartTLS without the test CA are unavailable', async () => {
    const l = await ldap();
    for (const o of [
      { ...searchLdaps(l), ca: undefined },
      { ...directStartTls(l), ca: undefined },
    ]) {
      const r = await new LdapAuthenticator(o).authenticate({
        kind: 'password',
        username: 'alice',
        password: 'alice-password',
      });
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.reason, 'unavailable');
    }
  });

  it('answers unavailable within the timeouts when the server is down or never answers', async () => {
    const silent = await silentServer();
    const port = silent.port;
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    try {
      for (const url of [`ldap://127.0.0.1:${port}`, `ldap://127.0.0.1:${closedPort}`]) {
        const a = new LdapAuthenticator({
          ...common,
          url,
          startTls: false,
          bindDnTemplate: `uid={username},${PEOPLE}`,
          timeoutMs: 500,
          connectTimeoutMs: 500,
        });
        const t0 = Date.now();
        const r = await a.authenticate({ kind: 'password', username: 'alice', password: 'alice-password' });
        assert.equal(!r.ok && r.reason, 'unavailable', url);
        assert.ok(Date.now() - t0 < 3000, `answered in ${Date.now() - t0} ms`);
      }
    } finally {
      silent.close();
    }
  });
});

describe('LDAP login through the hub (real Postgres, real slapd)', () => {
  let h: Harness;
  let down: Harness;
  let silent: { port: number; close(): void } | undefined;
  before(async () => {
    const l = await ldap();
    const env = {
      BERTH_AUTHENTICATORS: 'ldap,local',
      BERTH_ALLOWED_GROUPS: 'researchers',
      BERTH_ADMIN_GROUPS: 'hub-admins',
      BERTH_LDAP_URL: l.url,
      BERTH_LDAP_START_TLS: '1',
      BERTH_LDAP_CA_FILE: l.caFile,
      BERTH_LDAP_SEARCH_BASE: PEOPLE,
      BERTH_LDAP_BIND_DN: SERVICE_DN,
      BERTH_LDAP_BIND_PASSWORD: SERVICE_PASSWORD,
      BERTH_LOGIN_ATTEMPTS_PER_MINUTE: '100',
    };
    h = await startHarness({ env });
    // A directory that accepts connections and never answers.
    silent = await silentServer();
    const port = silent.port;
    down = await startHarness({
      env: {
        ...env,
        BERTH_LDAP_URL: `ldap://127.0.0.1:${port}`,
        BERTH_LDAP_START_TLS: '0',
        BERTH_LDAP_TIMEOUT_SECONDS: '1',
        BERTH_LDAP_CONNECT_TIMEOUT_SECONDS: '1',
        // A break-glass local admin is named in admin_users, which also allows them in.
        BERTH_ADMIN_USERS: 'breakglass',
      },
    });
    await down.addUser('breakglass', 'local-password-long', true);
  });
  after(async () => {
    await h?.close();
    await down?.close();
    silent?.close();
  });

  const post = async (base: string, username: string, password: string) => {
    const c = new BrowserClient(base);
    const page = await c.get('/hub/login');
    return c.postForm('/hub/login', { _xsrf: xsrfFrom(page.body), username, password }, false);
  };

  it('logs alice in through the login form, as an admin from her group', async () => {
    const res = await post(h.base, 'Alice', 'alice-password');
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/hub/home');
    const row = await h.hub.ctx.users.byName('alice');
    assert.equal(row?.admin, true);
    assert.equal(row?.authenticator, 'ldap');
    assert.equal(row?.password_hash, null, 'no password stored for a directory user');
  });

  it('refuses carol (outside the allowed groups) like a wrong password', async () => {
    const carol = await post(h.base, 'carol', 'carol-password');
    const wrong = await post(h.base, 'bob', 'not-bobs-password');
    assert.equal(carol.status, 403);
    assert.equal(wrong.status, 403);
    assert.equal(/class="error"[^>]*>([^<]*)</.exec(carol.body)?.[1], 'Invalid username or password.');
    assert.equal(await h.hub.ctx.users.byName('carol'), undefined);
  });

  it('refuses injection attempts at the form and creates no user', async () => {
    for (const username of [
      '*',
      '*)(uid=*',
      'admin)(|(uid=*',
      'alice,ou=people',
      'alice\0',
      'x'.repeat(1024 * 1024),
    ]) {
      const res = await post(h.base, username, 'alice-password');
      // 413: the 1 MB name is refused by the form body limit before any code reads it.
      assert.ok([403, 413].includes(res.status), `${res.status} ${JSON.stringify(username.slice(0, 20))}`);
    }
    for (const password of ['', '   ']) assert.equal((await post(h.base, 'alice', password)).status, 403);
    const names = (await h.hub.ctx.users.list(0, 100)).map((u) => u.name);
    assert.deepEqual(names, ['alice']);
  });

  it('shows a clear 503 page when the directory does not answer, and local break-glass still works', async () => {
    const t0 = Date.now();
    const res = await post(down.base, 'alice', 'alice-password');
    assert.equal(res.status, 503);
    assert.match(res.body, /login service is unavailable/);
    assert.ok(Date.now() - t0 < 5000, `answered in ${Date.now() - t0} ms`);
    const local = await post(down.base, 'breakglass', 'local-password-long');
    assert.equal(local.status, 302);
  });
});

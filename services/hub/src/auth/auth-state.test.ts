import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { issueApiToken } from '../api/tokens.ts';
import { BrowserClient, login, xsrfFrom } from '../testing/browser-client.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { type OpenLdap, startOpenLdap } from './ldap/testing/openldap.ts';
import { signInAtProvider, startTestProvider, type TestProvider } from './oidc/testing/provider.ts';

function keyFile(): string {
  const f = join(mkdtempSync(join(tmpdir(), 'berth-key-')), 'auth_state.key');
  writeFileSync(f, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  return f;
}

/** GET /hub/api/users/{name} as a browser session (with its XSRF token) or with a token. */
async function userModel(h: Harness, name: string, as: BrowserClient | string) {
  const res =
    typeof as === 'string'
      ? await fetch(`${h.base}/hub/api/users/${name}`, { headers: { authorization: `token ${as}` } })
      : await (async () => {
          const page = await as.get('/hub/home');
          const r = await as.request('GET', `/hub/api/users/${name}`, {
            headers: { 'sec-fetch-mode': 'cors', 'x-xsrftoken': xsrfFrom(page.body) },
          });
          return { status: r.status, json: async () => JSON.parse(r.body) as unknown };
        })();
  assert.equal(res.status, 200);
  return (await res.json()) as { name: string; auth_state?: Record<string, unknown> | null };
}

describe('LDAP attributes kept in auth state, shown only with admin:auth_state (real slapd, Postgres)', () => {
  let l: OpenLdap;
  let h: Harness;

  before(async () => {
    l = await startOpenLdap();
    h = await startHarness({
      env: {
        BERTH_AUTHENTICATORS: 'ldap',
        BERTH_ALLOWED_GROUPS: 'researchers',
        BERTH_ADMIN_GROUPS: 'hub-admins',
        BERTH_LDAP_URL: l.url,
        BERTH_LDAP_START_TLS: '1',
        BERTH_LDAP_CA_FILE: l.caFile,
        BERTH_LDAP_BIND_DN_TEMPLATE: 'uid={username},ou=people,dc=example,dc=org',
        BERTH_LDAP_AUTH_STATE_ATTRIBUTES: 'mail,cn',
        BERTH_AUTH_STATE_KEY_FILE: keyFile(),
      },
    });
  });
  after(async () => {
    await h?.close();
    await l?.stop();
  });

  it('keeps the configured attributes, encrypted at rest', async () => {
    const bob = new BrowserClient(h.base);
    assert.equal((await login(bob, 'bob', 'bob-password')).status, 200);
    const row = await h.hub.ctx.users.byName('bob');
    assert.ok(row?.auth_state);
    assert.doesNotMatch(
      row.auth_state,
      /bob@example\.org|Bob Researcher/,
      'not in clear text in the database',
    );
  });

  it('shows auth_state to an admin, and to a token with admin:auth_state on that user, to nobody else', async () => {
    const alice = new BrowserClient(h.base);
    assert.equal((await login(alice, 'alice', 'alice-password')).status, 200);
    const seen = await userModel(h, 'bob', alice);
    assert.deepEqual(seen.auth_state, {
      dn: 'uid=bob,ou=people,dc=example,dc=org',
      attributes: { mail: ['bob@example.org'], cn: ['Bob Researcher'] },
    });

    const bob = new BrowserClient(h.base);
    await login(bob, 'bob', 'bob-password');
    const own = await userModel(h, 'bob', bob);
    assert.equal('auth_state' in own, false, 'a user does not read their own auth state');

    const aliceRow = await h.hub.ctx.users.byName('alice');
    assert.ok(aliceRow);
    const mint = async (scopes: string[]) =>
      (await issueApiToken({ tokens: h.hub.ctx.tokens }, aliceRow, { scopes })).token;
    const readOnly = await userModel(h, 'bob', await mint(['read:users']));
    assert.equal('auth_state' in readOnly, false, 'read:users is not enough');
    const scoped = await userModel(h, 'bob', await mint(['read:users', 'admin:auth_state!user=bob']));
    assert.deepEqual(scoped.auth_state?.attributes, { mail: ['bob@example.org'], cn: ['Bob Researcher'] });
  });
});

describe('OIDC claims kept in auth state; the hub keeps its tokens to itself (oidc-provider, Postgres)', () => {
  const CALLBACK = 'http://127.0.0.1/hub/oidc/callback';
  let op: TestProvider;
  let agent: Agent;
  let h: Harness;

  before(async () => {
    op = await startTestProvider(
      [
        {
          client_id: 'berth',
          client_secret: 'berth-client-secret-for-tests-only',
          redirect_uris: [CALLBACK],
        },
      ],
      { alice: { groups: ['researchers', 'hub-admins'] }, bob: { groups: ['researchers'] } },
    );
    agent = new Agent({ connect: { ca: op.ca.ca } });
    h = await startHarness({
      env: {
        BERTH_AUTHENTICATORS: 'oidc',
        BERTH_ALLOWED_GROUPS: 'researchers',
        BERTH_ADMIN_GROUPS: 'hub-admins',
        BERTH_OIDC_ISSUER: op.issuer,
        BERTH_OIDC_CLIENT_ID: 'berth',
        BERTH_OIDC_CLIENT_SECRET: 'berth-client-secret-for-tests-only',
        BERTH_OIDC_SCOPES: 'openid profile email groups offline_access',
        BERTH_OIDC_CA_FILE: op.ca.caFile,
        BERTH_OIDC_AUTH_STATE_CLAIMS: 'email',
        BERTH_AUTH_STATE_KEY_FILE: keyFile(),
      },
    });
  });
  after(async () => {
    await h?.close();
    await op?.stop();
    await agent?.close();
  });

  async function oidcLogin(user: string): Promise<BrowserClient> {
    const c = new BrowserClient(h.base);
    const start = await c.request('GET', '/hub/oidc/login');
    const query = await signInAtProvider(op, agent, start.headers.get('location') ?? '', user, CALLBACK);
    const res = await c.request('GET', `/hub/oidc/callback${query}`);
    assert.equal(res.status, 302, res.body.slice(0, 200));
    return c;
  }

  it('keeps the configured claims (from userinfo when the id_token lacks them) and hides the tokens', async () => {
    await oidcLogin('bob');
    const alice = await oidcLogin('alice');
    const seen = await userModel(h, 'bob', alice);
    assert.deepEqual(seen.auth_state?.claims, { email: 'bob@example.org' });
    assert.equal(seen.auth_state?.sub, 'bob');
    assert.equal('refresh_token' in (seen.auth_state ?? {}), false);
    assert.equal('id_token' in (seen.auth_state ?? {}), false);
    const stored = h.hub.ctx.login.openState((await h.hub.ctx.users.byName('bob'))?.auth_state);
    assert.equal(typeof stored?.refresh_token, 'string', 'the hub still has its refresh token');
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { issueApiToken } from '../../api/tokens.ts';
import { BrowserClient, type ClientResponse } from '../../testing/browser-client.ts';
import { type Harness, startHarness } from '../../testing/hub-harness.ts';
import { StateSealer } from '../state-crypto.ts';
import { startTestProvider, type TestProvider } from './testing/provider.ts';

const CALLBACK = 'http://127.0.0.1/hub/oidc/callback';
const FLOW = 'berth-oidc-flow';
const ACCOUNTS = {
  alice: { groups: ['researchers', 'hub-admins'] },
  bob: { groups: ['researchers'] },
  carol: { groups: ['outsiders'] },
  dave: { groups: ['researchers'] },
  erin: { groups: ['researchers'] },
  frank: { groups: ['researchers'] },
  grace: { groups: ['researchers'] },
  henry: { groups: ['researchers'] },
  ivan: { groups: ['researchers'] },
  judy: { groups: ['researchers'] },
  kent: { groups: ['researchers'] },
};

describe('OIDC login against a real OpenID Provider (oidc-provider over https, real Postgres)', () => {
  let op: TestProvider;
  let h: Harness;
  let agent: Agent;
  let key: string;
  let keyFile: string;
  /** The same provider and key, other settings: for the wrong-issuer and wrong-client cases. */
  const hubWith = (patch: Record<string, string>) =>
    startHarness({
      env: {
        BERTH_AUTHENTICATORS: 'oidc',
        BERTH_ALLOWED_GROUPS: 'researchers',
        BERTH_OIDC_ISSUER: op.issuer,
        BERTH_OIDC_CLIENT_ID: 'berth',
        BERTH_OIDC_CLIENT_SECRET: 'berth-client-secret-for-tests-only',
        BERTH_OIDC_CA_FILE: op.ca.caFile,
        BERTH_AUTH_STATE_KEY_FILE: keyFile,
        ...patch,
      },
    });

  before(async () => {
    op = await startTestProvider(
      [
        {
          client_id: 'berth',
          client_secret: 'berth-client-secret-for-tests-only',
          redirect_uris: [CALLBACK],
          post_logout_redirect_uris: ['http://127.0.0.1/hub/login'],
        },
        {
          client_id: 'other',
          client_secret: 'other-client-secret-for-tests-only',
          redirect_uris: [CALLBACK],
        },
      ],
      ACCOUNTS,
    );
    agent = new Agent({ connect: { ca: op.ca.ca } });
    key = randomBytes(32).toString('hex');
    keyFile = join(op.ca.dir, 'auth-state.key');
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    h = await startHarness({
      env: {
        BERTH_AUTHENTICATORS: 'local,oidc',
        BERTH_ALLOWED_GROUPS: 'researchers',
        BERTH_ADMIN_GROUPS: 'hub-admins',
        BERTH_OIDC_DISPLAY_NAME: 'Test IdP',
        BERTH_OIDC_ISSUER: op.issuer,
        BERTH_OIDC_CLIENT_ID: 'berth',
        BERTH_OIDC_CLIENT_SECRET: 'berth-client-secret-for-tests-only',
        BERTH_OIDC_SCOPES: 'openid profile groups offline_access',
        BERTH_OIDC_CA_FILE: op.ca.caFile,
        BERTH_AUTH_STATE_KEY_FILE: keyFile,
      },
    });
  });
  after(async () => {
    await h?.close();
    await op?.stop();
    await agent?.close();
  });

  /** Start a login at the hub; returns the IdP authorization URL (the flow cookie stays in `c`). */
  async function begin(c: BrowserClient): Promise<string> {
    const res = await c.request('GET', '/hub/oidc/login?next=%2Fhub%2Fhome');
    assert.equal(res.status, 302);
    const loc = res.headers.get('location') ?? '';
    assert.ok(loc.startsWith(`${op.issuer}/auth?`), loc);
    const u = new URL(loc);
    assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(u.searchParams.get('state') && u.searchParams.get('nonce'));
    return loc;
  }

  /** Sign in at the IdP as `user` (its dev login and consent forms); returns the callback query string. */
  async function atIdp(authUrl: string, user: string): Promise<string> {
    const idp = new BrowserClient(op.issuer, agent);
    let res: ClientResponse = await idp.request('GET', authUrl);
    for (let i = 0; i < 20; i++) {
      if (res.status >= 300 && res.status < 400) {
        const loc = new URL(res.headers.get('location') ?? '', res.url).href;
        if (loc.startsWith(CALLBACK)) return new URL(loc).search;
        res = await idp.request('GET', loc);
        continue;
      }
      const action = /<form[^>]*action="([^"]+)"/.exec(res.body)?.[1];
      assert.ok(action, `no form at the IdP (${res.status}): ${res.body.slice(0, 300)}`);
      const fields: Record<string, string> = res.body.includes('name="login"')
        ? { prompt: 'login', login: user, password: 'any' }
        : { prompt: 'consent' };
      res = await idp.postForm(new URL(action, res.url).href, fields, false);
    }
    throw new Error('the IdP never sent the browser back');
  }

  const callback = (c: BrowserClient, query: string) => c.request('GET', `/hub/oidc/callback${query}`);

  async function login(user: string): Promise<{ c: BrowserClient; res: ClientResponse }> {
    const c = new BrowserClient(h.base);
    const query = await atIdp(await begin(c), user);
    return { c, res: await callback(c, query) };
  }

  it('shows a button for the provider beside the login form', async () => {
    const page = await new BrowserClient(h.base).get('/hub/login');
    assert.match(page.body, /href="\/hub\/oidc\/login\?next=%2Fhub%2Fhome">Sign in with Test IdP</);
    assert.match(page.body, /name="password"/);
  });

  it('logs alice in with code + PKCE, groups from userinfo, admin from her group, tokens sealed at rest', async () => {
    const { c, res } = await login('alice');
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/hub/home');
    assert.equal((await c.get('/hub/home')).status, 200);
    const row = await h.hub.ctx.users.byName('alice');
    assert.equal(row?.authenticator, 'oidc');
    assert.equal(row?.admin, true);
    assert.deepEqual(row?.groups, ['hub-admins', 'researchers']);
    assert.ok(row?.auth_state?.startsWith('v1.'));
    const state = new StateSealer(key).open(row?.auth_state ?? '');
    assert.equal(typeof state?.refresh_token, 'string', 'a refresh token was issued and kept');
    assert.ok(!row?.auth_state?.includes(String(state?.refresh_token)));
  });

  it('re-evaluates admin at every login: losing the group at the IdP revokes it', async () => {
    op.setAccounts({ ...ACCOUNTS, alice: { groups: ['researchers'] } });
    try {
      const { res } = await login('alice');
      assert.equal(res.status, 302);
      assert.equal((await h.hub.ctx.users.byName('alice'))?.admin, false);
    } finally {
      op.setAccounts(ACCOUNTS);
    }
    await login('alice');
    assert.equal((await h.hub.ctx.users.byName('alice'))?.admin, true);
  });

  it('refuses a user outside the allowed groups and creates no user', async () => {
    const { res } = await login('carol');
    assert.equal(res.status, 403);
    assert.equal(await h.hub.ctx.users.byName('carol'), undefined);
  });

  it('refuses a callback without the flow cookie (missing state) and creates no user', async () => {
    const query = await atIdp(await begin(new BrowserClient(h.base)), 'dave');
    const res = await callback(new BrowserClient(h.base), query);
    assert.equal(res.status, 403);
    assert.equal(await h.hub.ctx.users.byName('dave'), undefined);
  });

  it('refuses a mismatched state and creates no user', async () => {
    const c = new BrowserClient(h.base);
    const first = await begin(c);
    await begin(c); // a second login in the same browser replaces the flow cookie
    const res = await callback(c, await atIdp(first, 'erin'));
    assert.equal(res.status, 403);
    assert.equal(await h.hub.ctx.users.byName('erin'), undefined);
  });

  it('refuses a bad nonce and creates no user', async () => {
    const c = new BrowserClient(h.base);
    const query = await atIdp(await begin(c), 'frank');
    const raw = decodeURIComponent(c.cookie(FLOW) ?? '');
    const flow = h.hub.app.unsignCookie(raw);
    assert.ok(flow.valid && flow.value);
    const forged = { ...JSON.parse(flow.value), nonce: 'not-the-nonce-sent' };
    c.setCookie(FLOW, encodeURIComponent(h.hub.app.signCookie(JSON.stringify(forged))), '/hub/oidc/');
    const res = await callback(c, query);
    assert.equal(res.status, 403);
    assert.equal(await h.hub.ctx.users.byName('frank'), undefined);
  });

  it('refuses a replayed code', async () => {
    const c = new BrowserClient(h.base);
    const query = await atIdp(await begin(c), 'grace');
    const flowCookie = c.cookie(FLOW) ?? '';
    assert.equal((await callback(c, query)).status, 302);
    const replay = new BrowserClient(h.base);
    replay.setCookie(FLOW, flowCookie, '/hub/oidc/');
    const res = await callback(replay, query);
    assert.equal(res.status, 403);
    assert.equal(replay.cookie('berth-session'), undefined);
  });

  it('refuses a code issued to another client (audience) and creates no user', async () => {
    const other = await hubWith({
      BERTH_OIDC_CLIENT_ID: 'other',
      BERTH_OIDC_CLIENT_SECRET: 'other-client-secret-for-tests-only',
    });
    try {
      // The browser starts at the hub configured as `other`, but the code comes from a flow for `berth`.
      const c = new BrowserClient(other.base);
      await c.request('GET', '/hub/oidc/login');
      const stolen = await atIdp(await begin(new BrowserClient(h.base)), 'dave');
      const q = new URLSearchParams(stolen);
      const flow = other.hub.app.unsignCookie(decodeURIComponent(c.cookie(FLOW) ?? ''));
      assert.ok(flow.valid && flow.value);
      q.set('state', JSON.parse(flow.value).state);
      const res = await c.request('GET', `/hub/oidc/callback?${q}`);
      assert.equal(res.status, 403);
      assert.equal(await other.hub.ctx.users.byName('dave'), undefined);
    } finally {
      await other.close();
    }
  });

  it('refuses an issuer that is not exactly the one configured', async () => {
    const wrong = await hubWith({ BERTH_OIDC_ISSUER: op.issuer.replace('127.0.0.1', 'localhost') });
    try {
      const res = await new BrowserClient(wrong.base).request('GET', '/hub/oidc/login');
      assert.equal(res.status, 503, 'discovery answered for another issuer: no login starts');
      assert.equal(res.headers.get('location'), null);
    } finally {
      await wrong.close();
    }
  });

  /** Pretend the user's access token expired, so the next spawn re-checks them at the IdP. */
  async function expire(name: string): Promise<void> {
    const row = await h.hub.ctx.users.byName(name);
    const sealer = new StateSealer(key);
    const state = sealer.open(row?.auth_state ?? '');
    assert.ok(row && state);
    await h.hub.ctx.db
      .updateTable('users')
      .set({ auth_state: sealer.seal({ ...state, access_expires_at: 0 }) })
      .where('id', '=', row.id)
      .execute();
  }
  const spawn = async (c: BrowserClient) => {
    const home = await c.get('/hub/home');
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(home.body)?.[1] ?? '';
    return c.postForm('/hub/spawn', { _xsrf: xsrf }, false);
  };

  it('re-checks an expired login with the refresh token before a spawn', async () => {
    const { c } = await login('henry');
    const before = new StateSealer(key).open((await h.hub.ctx.users.byName('henry'))?.auth_state ?? '');
    await expire('henry');
    const res = await spawn(c);
    assert.equal(res.status, 303);
    assert.match(res.headers.get('location') ?? '', /^\/hub\/spawn-pending\/henry/);
    const after = new StateSealer(key).open((await h.hub.ctx.users.byName('henry'))?.auth_state ?? '');
    assert.ok(Number(after?.access_expires_at) > Date.now(), 'a fresh access token');
    assert.equal(typeof after?.refresh_token, 'string');
    assert.ok(before);
    // The hub leaves servers running when it stops; stop this one so the test process can exit.
    const henry = await h.hub.ctx.users.byName('henry');
    assert.ok(henry);
    for (let i = 0; i < 50 && !(await h.hub.ctx.servers.find(henry.id, '')); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await h.hub.ctx.lifecycle.stop(henry, '');
  });

  it('ends the session when the IdP no longer allows the user at the re-check', async () => {
    const { c } = await login('ivan');
    await expire('ivan');
    op.setAccounts({ ...ACCOUNTS, ivan: { groups: ['outsiders'] } });
    try {
      const res = await spawn(c);
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), '/hub/login');
      assert.equal(c.cookie('berth-session'), undefined);
      const again = await c.request('GET', '/hub/home');
      assert.equal(again.status, 302);
    } finally {
      op.setAccounts(ACCOUNTS);
    }
  });

  /** POST /hub/api/users/{name}/server with an API token of that user, as a script would. */
  async function apiSpawn(name: string) {
    const row = await h.hub.ctx.users.byName(name);
    assert.ok(row);
    const { token } = await issueApiToken({ tokens: h.hub.ctx.tokens }, row, {});
    return fetch(`${h.base}/hub/api/users/${name}/server`, {
      method: 'POST',
      headers: { authorization: `token ${token}` },
    });
  }

  it('re-checks an expired login with the refresh token before a spawn through the REST API too', async () => {
    await login('judy');
    await expire('judy');
    const res = await apiSpawn('judy');
    assert.ok(res.status === 201 || res.status === 202, `spawn: ${res.status} ${await res.text()}`);
    const after = new StateSealer(key).open((await h.hub.ctx.users.byName('judy'))?.auth_state ?? '');
    assert.ok(Number(after?.access_expires_at) > Date.now(), 'a fresh access token');
    const judy = await h.hub.ctx.users.byName('judy');
    assert.ok(judy);
    for (let i = 0; i < 50 && !(await h.hub.ctx.servers.find(judy.id, '')); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await h.hub.ctx.lifecycle.stop(judy, '');
  });

  it('refuses a REST API spawn when the IdP no longer allows the user, and ends their sessions', async () => {
    const { c } = await login('kent');
    await expire('kent');
    op.setAccounts({ ...ACCOUNTS, kent: { groups: ['outsiders'] } });
    try {
      const res = await apiSpawn('kent');
      assert.equal(res.status, 403);
      assert.match(((await res.json()) as { message: string }).message, /must log in again/);
      const kent = await h.hub.ctx.users.byName('kent');
      assert.ok(kent);
      assert.equal(await h.hub.ctx.servers.find(kent.id, ''), undefined, 'nothing started');
      assert.equal((await c.request('GET', '/hub/home')).status, 302, 'the browser session ended');
    } finally {
      op.setAccounts(ACCOUNTS);
    }
  });

  it('logs out at the IdP too', async () => {
    const { c } = await login('bob');
    const home = await c.get('/hub/home');
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(home.body)?.[1] ?? '';
    const res = await c.postForm('/hub/logout', { _xsrf: xsrf }, false);
    assert.equal(res.status, 302);
    const loc = new URL(res.headers.get('location') ?? '');
    assert.equal(loc.origin + loc.pathname, `${op.issuer}/session/end`);
    assert.ok(loc.searchParams.get('id_token_hint'));
    assert.equal(loc.searchParams.get('post_logout_redirect_uri'), 'http://127.0.0.1/hub/login');
  });
});

describe('OIDC with the IdP down', () => {
  let h: Harness;
  before(async () => {
    const dir = (await import('node:fs')).mkdtempSync(
      join((await import('node:os')).tmpdir(), 'berth-oidc-'),
    );
    writeFileSync(join(dir, 'key'), randomBytes(32).toString('hex'));
    h = await startHarness({
      env: {
        BERTH_AUTHENTICATORS: 'oidc',
        BERTH_ALLOW_ALL: '1',
        BERTH_OIDC_ISSUER: 'https://127.0.0.1:1',
        BERTH_OIDC_CLIENT_ID: 'berth',
        BERTH_OIDC_CLIENT_SECRET: 'x',
        BERTH_OIDC_TIMEOUT_SECONDS: '2',
        BERTH_AUTH_STATE_KEY_FILE: join(dir, 'key'),
      },
    });
  });
  after(() => h?.close());

  it('answers a clear 503 page, not a 500 or a hang', async () => {
    const t0 = Date.now();
    const res = await new BrowserClient(h.base).request('GET', '/hub/oidc/login');
    assert.equal(res.status, 503);
    assert.match(res.body, /login service is unavailable/);
    assert.ok(Date.now() - t0 < 5000);
  });
});

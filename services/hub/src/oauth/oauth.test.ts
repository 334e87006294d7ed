import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BrowserClient, login } from '../testing/browser-client.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import type { ListeningSpawner } from '../testing/listening-spawner.ts';

/** The OAuth2 provider single-user servers use, driven as jupyterhub-singleuser drives it. */
describe('OAuth2 provider (real Postgres)', () => {
  let h: Harness;
  let alice: BrowserClient;
  let serverToken: string;
  const redirect = '/user/alice/oauth_callback';
  const clientId = 'jupyterhub-user-alice';

  before(async () => {
    h = await startHarness();
    await h.addUser('alice', 'alice-password');
    await h.addUser('bob', 'bob-password');
    alice = new BrowserClient(h.base);
    await login(alice, 'alice', 'alice-password');
    const home = await alice.get('/hub/home');
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(home.body)?.[1] as string;
    const spawn = await alice.postForm('/hub/spawn', { _xsrf: xsrf });
    assert.ok(
      spawn.hops.some((u) => u.includes('/user/alice/')),
      `spawned and redirected: ${spawn.hops}`,
    );
    const req = (h.spawner as ListeningSpawner).requests[0];
    serverToken = req?.env.JUPYTERHUB_API_TOKEN as string;
    assert.ok(serverToken);
  });
  after(() => h?.close());

  const authorizeUrl = (q: Record<string, string>) => `/hub/api/oauth2/authorize?${new URLSearchParams(q)}`;
  const good = { client_id: clientId, redirect_uri: redirect, response_type: 'code', state: 'st4te' };

  async function code(client: BrowserClient, extra: Record<string, string> = {}) {
    const res = await client.request('GET', authorizeUrl({ ...good, ...extra }));
    assert.equal(res.status, 302, res.body);
    const loc = new URL(res.headers.get('location') as string, 'http://x');
    assert.equal(loc.pathname, redirect);
    assert.equal(loc.searchParams.get('state'), 'st4te');
    return loc.searchParams.get('code') as string;
  }

  function exchange(fields: Record<string, string>) {
    return fetch(`${h.base}/hub/api/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
  }
  const tokenFields = (c: string) => ({
    client_id: clientId,
    client_secret: serverToken,
    grant_type: 'authorization_code',
    code: c,
    redirect_uri: redirect,
  });

  it('gives the owner a code without consent, and the code an access token with the server scope', async () => {
    const res = await exchange(tokenFields(await code(alice)));
    assert.equal(res.status, 200);
    const body = (await res.json()) as { access_token: string; token_type: string; scope: string };
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.scope, 'access:servers!server=alice/');
    const me = await fetch(`${h.base}/hub/api/user`, {
      headers: { authorization: `token ${body.access_token}` },
    });
    assert.equal(me.status, 200);
    const model = (await me.json()) as { name: string; scopes: string[] };
    assert.equal(model.name, 'alice');
    assert.ok(model.scopes.includes('access:servers!server=alice/'));
    assert.ok(
      !model.scopes.some((s) => s.startsWith('tokens')),
      "an OAuth token does not carry the owner's other powers",
    );
  });

  it('refuses a reused code', async () => {
    const c = await code(alice);
    assert.equal((await exchange(tokenFields(c))).status, 200);
    const again = await exchange(tokenFields(c));
    assert.equal(again.status, 400);
    assert.equal(((await again.json()) as { error: string }).error, 'invalid_grant');
  });

  it('refuses a wrong client secret, a wrong redirect_uri and an unknown grant type', async () => {
    const c = await code(alice);
    assert.equal((await exchange({ ...tokenFields(c), client_secret: 'x'.repeat(64) })).status, 401);
    const c2 = await code(alice);
    assert.equal(
      (await exchange({ ...tokenFields(c2), redirect_uri: '/user/bob/oauth_callback' })).status,
      400,
    );
    assert.equal((await exchange({ ...tokenFields(c2), grant_type: 'password' })).status, 400);
  });

  it('refuses an unknown client, a wrong redirect_uri, a missing state and a bad response_type at authorize', async () => {
    for (const bad of [
      { client_id: 'jupyterhub-user-mallory' },
      { redirect_uri: 'https://evil.example/cb' },
      { redirect_uri: '/user/alice/oauth_callback/../../evil' },
      { state: '' },
      { response_type: 'token' },
    ]) {
      const res = await alice.request('GET', authorizeUrl({ ...good, ...bad }));
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(res.headers.get('location'), null, 'never redirects on a bad request');
    }
  });

  it('supports PKCE (S256) and refuses a wrong verifier', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const pk = { code_challenge: challenge, code_challenge_method: 'S256' };
    const bad = await exchange({ ...tokenFields(await code(alice, pk)), code_verifier: 'wrong'.repeat(10) });
    assert.equal(bad.status, 400);
    const ok = await exchange({ ...tokenFields(await code(alice, pk)), code_verifier: verifier });
    assert.equal(ok.status, 200);
  });

  it("denies bob a code for alice's server", async () => {
    const bob = new BrowserClient(h.base);
    await login(bob, 'bob', 'bob-password');
    const res = await bob.request('GET', authorizeUrl(good));
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('location'), null);
  });

  it('sends a visitor who is not logged in to the login page, and back', async () => {
    const anon = new BrowserClient(h.base);
    const res = await anon.request('GET', authorizeUrl(good));
    assert.equal(res.status, 302);
    const loc = new URL(res.headers.get('location') as string, 'http://x');
    assert.equal(loc.pathname, '/hub/login');
    assert.match(loc.searchParams.get('next') ?? '', /^\/hub\/api\/oauth2\/authorize\?/);
    const after = await login(anon, 'alice', 'alice-password', loc.searchParams.get('next') as string);
    assert.ok(
      after.hops.some((u) => new URL(u).pathname === redirect),
      `ends at the callback: ${after.hops}`,
    );
  });

  it('revokes the OAuth tokens of a session at logout', async () => {
    const c = new BrowserClient(h.base);
    await login(c, 'alice', 'alice-password');
    const res = await exchange(tokenFields(await code(c)));
    const { access_token } = (await res.json()) as { access_token: string };
    const check = () =>
      fetch(`${h.base}/hub/api/user`, { headers: { authorization: `token ${access_token}` } });
    assert.equal((await check()).status, 200);
    await c.request('GET', '/hub/logout');
    assert.equal((await check()).status, 403);
  });

  it('gives the server token exactly the activity and access scopes', async () => {
    const me = await fetch(`${h.base}/hub/api/user`, { headers: { authorization: `token ${serverToken}` } });
    const model = (await me.json()) as { scopes: string[] };
    // users:activity implies read:users:activity, as in JupyterHub's scopes.py.
    assert.deepEqual(model.scopes, [
      'access:servers!server=alice/',
      'read:users:activity!user=alice',
      'users:activity!user=alice',
    ]);
  });

  it('accepts activity from the server and refuses a bad timestamp and an unknown server', async () => {
    const post = (body: unknown, user = 'alice') =>
      fetch(`${h.base}/hub/api/users/${user}/activity`, {
        method: 'POST',
        headers: { authorization: `token ${serverToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const now = new Date().toISOString();
    assert.equal((await post({ servers: { '': { last_activity: now } }, last_activity: now })).status, 200);
    const future = new Date(Date.now() + 2 * 3600_000).toISOString();
    assert.equal((await post({ last_activity: future })).status, 400);
    assert.equal((await post({ servers: { nope: { last_activity: now } } })).status, 400);
    assert.equal((await post({})).status, 400);
    assert.equal((await post({ last_activity: now }, 'bob')).status, 403);
    const user = await h.hub.ctx.users.byName('alice');
    assert.equal(user?.last_activity?.toISOString(), now);
  });

  it('stopping the server deletes its token and OAuth client', async () => {
    const t = new BrowserClient(h.base);
    await login(t, 'alice', 'alice-password');
    const home = await t.get('/hub/home');
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(home.body)?.[1] as string;
    await t.postForm('/hub/stop', { _xsrf: xsrf });
    const me = await fetch(`${h.base}/hub/api/user`, { headers: { authorization: `token ${serverToken}` } });
    assert.equal(me.status, 403);
    const res = await t.request('GET', authorizeUrl(good));
    assert.equal(res.status, 400);
    assert.equal(h.routes.routes.size, 0);
    assert.equal((h.spawner as ListeningSpawner).running, 0);
  });
});

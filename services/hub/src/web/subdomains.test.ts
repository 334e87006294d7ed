import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient, xsrfFrom } from '../testing/browser-client.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import type { ListeningSpawner } from '../testing/listening-spawner.ts';

const HUB = 'https://hub.test';

async function signIn(c: BrowserClient, user: string, next?: string) {
  const page = await c.get(`/hub/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  const fields: Record<string, string> = {
    _xsrf: xsrfFrom(page.body),
    username: user,
    password: `${user}-password`,
  };
  if (next) fields.next = next;
  return c.postForm('/hub/login', fields, false);
}

/** Per-user subdomains on a real hub and Postgres (BERTH_SUBDOMAIN_HOST). */
describe('per-user subdomains (real Postgres)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { BERTH_PUBLIC_URL: HUB, BERTH_SUBDOMAIN_HOST: HUB } });
    await h.addUser('alice', 'alice-password');
    await h.addUser('bob', 'bob-password');
  });
  after(() => h?.close());

  it('sets __Host- cookies: Secure, HttpOnly, SameSite=Lax, Path=/, no Domain; XSRF keeps working', async () => {
    const c = new BrowserClient(h.base);
    const page = await c.get('/hub/login');
    const xsrfLine = page.headers.getSetCookie().find((l) => l.startsWith('__Host-berth-xsrf='));
    assert.ok(xsrfLine, `xsrf cookie: ${page.headers.getSetCookie()}`);
    const res = await c.postForm(
      '/hub/login',
      { _xsrf: xsrfFrom(page.body), username: 'alice', password: 'alice-password' },
      false,
    );
    assert.equal(res.status, 302);
    const lines = res.headers.getSetCookie();
    const session = lines.find((l) => l.startsWith('__Host-berth-session='));
    assert.ok(session, `session cookie: ${lines}`);
    for (const line of [session, xsrfLine]) {
      const attrs = line.split(';').map((a) => a.trim().toLowerCase());
      assert.ok(attrs.includes('path=/'), line);
      assert.ok(attrs.includes('secure'), line);
      assert.ok(attrs.includes('httponly'), line);
      assert.ok(attrs.includes('samesite=lax'), line);
      assert.ok(!attrs.some((a) => a.startsWith('domain=')), line);
    }
    assert.ok(!lines.some((l) => l.startsWith('berth-session=')), 'no path-scoped cookie');
    assert.equal((await c.get('/hub/home')).status, 200);
    // A form post with the page's XSRF token works; without it, it is refused.
    const home = await c.get('/hub/home');
    const noToken = await c.postForm('/hub/logout', {}, false);
    assert.equal(noToken.status, 403);
    const out = await c.postForm('/hub/logout', { _xsrf: xsrfFrom(home.body) }, false);
    assert.equal(out.status, 302);
    assert.ok(out.headers.getSetCookie().some((l) => /^__Host-berth-session=;.*Path=\//.test(l)));
  });

  it('refuses the single-origin cookie name (a cookie set by user code elsewhere is not a session)', async () => {
    const alice = new BrowserClient(h.base);
    await signIn(alice, 'alice');
    const stolen = new BrowserClient(h.base);
    stolen.setCookie('berth-session', alice.cookie('__Host-berth-session') as string, '/hub/');
    const home = await stolen.request('GET', '/hub/home');
    assert.equal(home.status, 302);
    assert.match(home.headers.get('location') ?? '', /^\/hub\/login/);
  });

  it("answers only on the hub's host: a login page on a user's host sets no cookie there", async () => {
    const c = new BrowserClient(h.base);
    const page = await c.request('GET', '/hub/login?next=%2Fhub%2Fhome', {
      headers: { host: 'alice.hub.test' },
    });
    assert.equal(page.status, 302);
    assert.equal(page.headers.get('location'), 'https://hub.test/hub/login?next=%2Fhub%2Fhome');
    assert.deepEqual(page.headers.getSetCookie(), []);
    const post = await c.request('POST', '/hub/login', {
      headers: { host: 'alice.hub.test:443', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=bob&password=bob-password',
    });
    assert.equal(post.status, 403);
    assert.deepEqual(post.headers.getSetCookie(), []);
    // Internal names (the servers' hub API URL) are not user hosts.
    const api = await c.request('GET', '/hub/api/', { headers: { host: 'hub:8081' } });
    assert.equal(api.status, 200);
  });

  it("sends a user after login to a full URL on their own host only; never to another user's host", async () => {
    const own = 'https://alice.hub.test/user/alice/lab';
    const a = await signIn(new BrowserClient(h.base), 'alice', own);
    assert.equal(a.headers.get('location'), own);
    const b = await signIn(new BrowserClient(h.base), 'bob', own);
    assert.equal(b.headers.get('location'), '/hub/home', "bob is not sent to alice's host");
    const evil = await signIn(new BrowserClient(h.base), 'alice', 'https://alice.hub.test.evil.example/');
    assert.equal(evil.headers.get('location'), '/hub/home');
  });

  it('routes, redirects and registers OAuth on the user host; the route sync keeps host routes', async () => {
    const alice = new BrowserClient(h.base);
    await signIn(alice, 'alice');
    const home = await alice.get('/hub/home');
    await alice.postForm('/hub/spawn', { _xsrf: xsrfFrom(home.body) }, false);
    let row = await h.hub.ctx.servers.find((await h.hub.ctx.users.byName('alice'))?.id as number, '');
    for (let i = 0; i < 100 && row?.state !== 'running'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      row = await h.hub.ctx.servers.find((await h.hub.ctx.users.byName('alice'))?.id as number, '');
    }
    assert.equal(row?.state, 'running');
    const routes = await h.routes.list();
    assert.ok(
      routes['/alice.hub.test/user/alice'] ?? routes['/alice.hub.test/user/alice/'],
      Object.keys(routes).join(),
    );
    assert.ok(!Object.keys(routes).some((p) => p.startsWith('/user/')), 'no path route on the hub host');

    const env = (h.spawner as ListeningSpawner).requests.at(-1)?.env ?? {};
    assert.equal(env.JUPYTERHUB_HOST, 'https://hub.test');
    assert.equal(env.JUPYTERHUB_OAUTH_CALLBACK_URL, 'https://alice.hub.test/user/alice/oauth_callback');
    assert.equal(env.JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED, '1');

    const go = await alice.request('GET', '/hub/user/alice/');
    assert.equal(go.status, 302);
    assert.equal(go.headers.get('location'), 'https://alice.hub.test/user/alice/?redirects=1');
    // The hub's fallback for /user/… (no route matched, on any host) goes back to the hub's own host.
    const fallback = await alice.request('GET', '/user/alice/lab');
    assert.equal(fallback.headers.get('location'), 'https://hub.test/hub/user/alice/lab');
    const redirect = await alice.request('GET', '/hub/user-redirect/lab');
    assert.equal(redirect.headers.get('location'), 'https://alice.hub.test/user/alice/lab');

    // OAuth: the full callback URL is the registered redirect_uri; the bare path is refused.
    const authorize = (redirectUri: string) =>
      `/hub/api/oauth2/authorize?${new URLSearchParams({
        client_id: 'jupyterhub-user-alice',
        redirect_uri: redirectUri,
        response_type: 'code',
        state: 'st4te',
      })}`;
    const ok = await alice.request('GET', authorize('https://alice.hub.test/user/alice/oauth_callback'));
    assert.equal(ok.status, 302, ok.body);
    const loc = new URL(ok.headers.get('location') as string);
    assert.equal(loc.origin, 'https://alice.hub.test');
    assert.equal(loc.pathname, '/user/alice/oauth_callback');
    assert.ok(loc.searchParams.get('code'));
    const bad = await alice.request('GET', authorize('/user/alice/oauth_callback'));
    assert.equal(bad.status, 400);
    const other = await alice.request('GET', authorize('https://bob.hub.test/user/alice/oauth_callback'));
    assert.equal(other.status, 400);

    // A proxy that lost its routes gets the host route back, and a stale path route is dropped.
    await h.routes.remove('/alice.hub.test/user/alice/');
    await h.routes.add('/user/alice/', 'http://127.0.0.1:9', { user: 'alice', server_name: '', berth: true });
    assert.deepEqual(await h.hub.ctx.lifecycle.reconcileRoutes(), { added: 1, removed: 1 });
    const healed = Object.keys(await h.routes.list());
    assert.ok(
      healed.some((p) => p.startsWith('/alice.hub.test/user/alice')),
      healed.join(),
    );
    assert.ok(!healed.some((p) => p.startsWith('/user/')), healed.join());
  });
});

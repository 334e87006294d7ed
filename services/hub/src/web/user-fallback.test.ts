import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient, login, xsrfFrom } from '../testing/browser-client.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';

/** Requests for /user/… that reach the hub (no proxy route) never loop: they end on a page. */
describe('/user/… reaching the hub (real Postgres)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.addUser('alice', 'alice-password');
    await h.addUser('bob', 'bob-password');
  });
  after(() => h?.close());

  it("offers the owner a start button for a stopped server, after one hop under /hub/ (the cookie's path)", async () => {
    const c = new BrowserClient(h.base);
    await login(c, 'alice', 'alice-password');
    const res = await c.get('/user/alice/lab?reset');
    assert.equal(res.status, 424);
    assert.deepEqual(
      res.hops.map((u) => new URL(u).pathname),
      ['/user/alice/lab', '/hub/user/alice/lab'],
    );
    assert.match(res.body, /Start my server/);
  });

  it('sends a visitor who is not logged in to log in, and back under /hub/user/', async () => {
    const c = new BrowserClient(h.base);
    const res = await c.get('/user/alice/lab');
    assert.equal(new URL(res.url).pathname, '/hub/login');
    assert.equal(new URL(res.url).searchParams.get('next'), '/hub/user/alice/lab');
  });

  it("shows bob no start button and no hint that alice's server exists", async () => {
    const c = new BrowserClient(h.base);
    await login(c, 'bob', 'bob-password');
    const res = await c.get('/user/alice/lab');
    assert.equal(res.status, 404);
    assert.doesNotMatch(res.body, /Start my server/);
  });

  it('ends a running server whose route cannot be healed on a 503 page after three round trips, not a loop', async () => {
    const c = new BrowserClient(h.base);
    await login(c, 'alice', 'alice-password');
    const home = await c.get('/hub/home');
    await c.postForm('/hub/spawn', { _xsrf: xsrfFrom(home.body) }, false);
    const alice = await h.hub.ctx.users.byName('alice');
    assert.ok(alice);
    await h.hub.ctx.lifecycle.settled(alice, '');
    // In this harness nothing proxies /user/…, so every request comes back to the hub, as if no route existed.
    const res = await c.get('/user/alice/lab');
    assert.equal(res.status, 503);
    assert.ok(res.hops.length <= 9, `${res.hops.length} hops`);
    assert.match(res.body, /cannot be reached/);
    assert.ok(h.routes.routes.has('/user/alice'), 'the route was re-added on the way');
  });

  it('refuses an open redirect through the fallback', async () => {
    const c = new BrowserClient(h.base);
    const res = await c.request('GET', '/user//evil.example/');
    const loc = res.headers.get('location') ?? '';
    assert.ok(loc.startsWith('/') && !loc.startsWith('//'), loc);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient, login, xsrfFrom } from '../testing/browser-client.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';

describe('login form (real Postgres)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { BERTH_LOGIN_ATTEMPTS_PER_MINUTE: '12' } });
    await h.addUser('alice', 'correct horse battery');
    await h.addUser('redirected', 'correct horse battery');
    await h.addUser('throttled', 'correct horse battery');
  });
  after(() => h?.close());

  it('logs in with the right password and sets an HttpOnly session cookie scoped to /hub/', async () => {
    const c = new BrowserClient(h.base);
    const page = await c.get('/hub/login');
    const res = await c.postForm(
      '/hub/login',
      { _xsrf: xsrfFrom(page.body), username: 'alice', password: 'correct horse battery' },
      false,
    );
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/hub/home');
    const setCookie = res.headers.getSetCookie().find((l) => l.startsWith('berth-session='));
    assert.ok(setCookie, 'session cookie set');
    assert.match(setCookie, /Path=\/hub\//);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Lax/);
    const home = await c.get('/hub/home');
    assert.equal(home.status, 200);
    assert.match(home.body, /Your server/);
  });

  it('refuses a wrong password and an unknown user with the same answer', async () => {
    const answers: string[] = [];
    for (const [u, p] of [
      ['alice', 'wrong'],
      ['nobody', 'whatever'],
    ] as const) {
      const c = new BrowserClient(h.base);
      const page = await c.get('/hub/login');
      const res = await c.postForm(
        '/hub/login',
        { _xsrf: xsrfFrom(page.body), username: u, password: p },
        false,
      );
      assert.equal(res.status, 403);
      assert.equal(c.cookie('berth-session'), undefined);
      answers.push(/<p class="error"[^>]*>([^<]*)</.exec(res.body)?.[1] ?? '');
    }
    assert.equal(answers[0], 'Invalid username or password.');
    assert.equal(answers[0], answers[1]);
  });

  it('refuses an empty or whitespace password before checking anything', async () => {
    const c = new BrowserClient(h.base);
    const page = await c.get('/hub/login');
    const res = await c.postForm(
      '/hub/login',
      { _xsrf: xsrfFrom(page.body), username: 'alice', password: '   ' },
      false,
    );
    assert.equal(res.status, 403);
  });

  it('refuses a login POST without a valid XSRF token', async () => {
    const c = new BrowserClient(h.base);
    await c.get('/hub/login');
    const none = await c.postForm(
      '/hub/login',
      { username: 'alice', password: 'correct horse battery' },
      false,
    );
    assert.equal(none.status, 403);
    const forged = await c.postForm(
      '/hub/login',
      { _xsrf: 'forged-token', username: 'alice', password: 'correct horse battery' },
      false,
    );
    assert.equal(forged.status, 403);
    assert.equal(c.cookie('berth-session'), undefined);
  });

  it('issues a new session id at every login (no fixation)', async () => {
    const c = new BrowserClient(h.base);
    await login(c, 'alice', 'correct horse battery');
    const first = c.cookie('berth-session');
    await login(c, 'alice', 'correct horse battery');
    const second = c.cookie('berth-session');
    assert.ok(first && second);
    assert.notEqual(first, second);
    // The first session is gone.
    const stale = new BrowserClient(h.base);
    stale.setCookie('berth-session', first, '/hub/');
    const res = await stale.request('GET', '/hub/home');
    assert.equal(res.status, 302);
    assert.match(res.headers.get('location') ?? '', /^\/hub\/login/);
  });

  it('after logout the old cookie no longer works', async () => {
    const c = new BrowserClient(h.base);
    await login(c, 'alice', 'correct horse battery');
    const cookie = c.cookie('berth-session') as string;
    const home = await c.get('/hub/home');
    await c.postForm('/hub/logout', { _xsrf: xsrfFrom(home.body) });
    const replay = new BrowserClient(h.base);
    replay.setCookie('berth-session', cookie, '/hub/');
    const res = await replay.request('GET', '/hub/home');
    assert.equal(res.status, 302);
  });

  it('only redirects to same-origin paths after login', async () => {
    const cases: [string, string][] = [
      ['/hub/home', '/hub/home'],
      ['/user/alice/lab?x=1', '/user/alice/lab?x=1'],
      ['https://evil.example/', '/hub/home'],
      ['//evil.example/', '/hub/home'],
      ['/\\evil.example/', '/hub/home'],
      ['javascript:alert(1)', '/hub/home'],
      ['/%0d%0aLocation: https://evil.example', '/%0d%0aLocation:%20https://evil.example'],
      ['\t//evil.example', '/hub/home'],
    ];
    for (const [next, want] of cases) {
      const c = new BrowserClient(h.base);
      const page = await c.get(`/hub/login?next=${encodeURIComponent(next)}`);
      const res = await c.postForm(
        '/hub/login',
        { _xsrf: xsrfFrom(page.body), username: 'redirected', password: 'correct horse battery', next },
        false,
      );
      assert.equal(res.status, 302, next);
      assert.equal(res.headers.get('location'), want, `next=${JSON.stringify(next)}`);
    }
  });

  it('escapes what the user typed when re-rendering the form', async () => {
    const c = new BrowserClient(h.base);
    const page = await c.get('/hub/login');
    const res = await c.postForm(
      '/hub/login',
      { _xsrf: xsrfFrom(page.body), username: '"><script>alert(1)</script>', password: 'x' },
      false,
    );
    assert.equal(res.status, 403);
    assert.ok(!res.body.includes('<script>alert(1)</script>'));
    assert.match(res.body, /&quot;&gt;&lt;script&gt;/);
  });

  it('sends a strict Content-Security-Policy on pages', async () => {
    const res = await new BrowserClient(h.base).get('/hub/login');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /script-src 'self'/);
  });

  it('throttles repeated login attempts for one username with 429', async () => {
    const c = new BrowserClient(h.base);
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) {
      const page = await c.get('/hub/login');
      const res = await c.postForm(
        '/hub/login',
        { _xsrf: xsrfFrom(page.body), username: 'throttled', password: 'nope' },
        false,
      );
      statuses.push(res.status);
    }
    assert.deepEqual(statuses.slice(0, 12), Array(12).fill(403));
    assert.equal(statuses.at(-1), 429);
    // Other users are unaffected.
    const ok = await login(new BrowserClient(h.base), 'alice', 'correct horse battery');
    assert.equal(ok.status, 200);
  });
});

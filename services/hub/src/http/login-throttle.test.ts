import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { BrowserClient, xsrfFrom } from '../testing/browser-client.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';

/**
 * Login throttling per client and per user name, with X-Forwarded-For believed only from the configured proxy.
 * The hub listens on 127.0.0.1; 127.0.0.1 is the trusted proxy, and 127.0.0.2 (same loopback, another address)
 * plays a client that talks to the hub directly and lies in the header.
 */
describe('login throttling (per client and per user name; forwarded headers only from trusted proxies)', () => {
  let h: Harness;
  const direct = new Agent({ localAddress: '127.0.0.2' });

  before(async () => {
    h = await startHarness({
      env: {
        BERTH_TRUSTED_PROXIES: '127.0.0.1',
        BERTH_LOGIN_ATTEMPTS_PER_MINUTE_PER_CLIENT: '5',
        BERTH_LOGIN_ATTEMPTS_PER_MINUTE: '3',
      },
    });
    await h.addUser('alice', 'correct horse battery');
  });
  after(async () => {
    await h?.close();
    await direct.close();
  });

  /** One login attempt in a fresh browser, with an X-Forwarded-For header when given. */
  async function attempt(opts: { username: string; password?: string; xff?: string; via?: Agent }) {
    const c = new BrowserClient(h.base, opts.via);
    const page = await c.get('/hub/login');
    const body = new URLSearchParams({
      _xsrf: xsrfFrom(page.body),
      username: opts.username,
      password: opts.password ?? 'wrong password',
    }).toString();
    const res = await c.request('POST', '/hub/login', {
      body,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(opts.xff ? { 'x-forwarded-for': opts.xff } : {}),
      },
    });
    return res;
  }

  it('throttles a client spraying user names even when it sends a new X-Forwarded-For each time', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await attempt({ username: `spray${i}`, xff: `198.51.100.${i + 1}`, via: direct });
      statuses.push(res.status);
    }
    assert.deepEqual(statuses, [403, 403, 403, 403, 403, 429, 429]);
    // Throttled before the password is checked: even the right password is refused from this client now.
    const right = await attempt({ username: 'alice', password: 'correct horse battery', via: direct });
    assert.equal(right.status, 429);
    assert.ok(Number(right.headers.get('retry-after')) > 0, 'Retry-After says when');
  });

  it('believes X-Forwarded-For from the trusted proxy: each forwarded client has its own budget', async () => {
    // Seven clients behind the proxy, one attempt each (different names): none is throttled.
    for (let i = 0; i < 7; i++) {
      const res = await attempt({ username: `proxied${i}`, xff: `203.0.113.${i + 1}` });
      assert.equal(res.status, 403, `client ${i}`);
    }
    // One forwarded client over its budget is throttled; its neighbour is not.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await attempt({ username: `busy${i}`, xff: '203.0.113.200' })).status);
    }
    assert.deepEqual(statuses, [403, 403, 403, 403, 403, 429]);
    assert.equal((await attempt({ username: 'quiet', xff: '203.0.113.201' })).status, 403);
  });

  it('throttles one user name across many clients', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await attempt({ username: 'bob', xff: `192.0.2.${i + 1}` })).status);
    }
    assert.deepEqual(statuses, [403, 403, 403, 429]);
  });
});

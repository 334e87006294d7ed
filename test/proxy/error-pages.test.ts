import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Harness, startHarness } from '../../services/hub/src/testing/hub-harness.ts';
import { unusedPort } from '../../services/proxy/src/testing/backends.ts';
import { startTestProxy, type TestProxy } from '../../services/proxy/src/testing/harness.ts';

/**
 * The proxy's error target pointed at the real hub, as compose sets it: a browser that meets a dead user server
 * or an unrouted URL gets the hub's own page (its layout, a Home link), an API client gets the proxy's JSON.
 */
describe('proxy error target -> the hub /hub/error/<code> pages', () => {
  let hub: Harness;
  let t: TestProxy;
  before(async () => {
    hub = await startHarness();
    t = await startTestProxy({ errorTarget: `${hub.base}/hub/error` });
    await t.addRoute('/user/ghost', `http://127.0.0.1:${await unusedPort()}`);
  });
  after(async () => {
    await t?.close();
    await hub?.close();
  });

  it('a dead user server gives the hub page (HTML, 503)', async () => {
    const res = await t.get('/user/ghost/lab', { accept: 'text/html' });
    assert.equal(res.status, 503);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.text, /<title>[^<]*Error 503/);
    assert.match(res.text, /Your server is not reachable right now/);
    assert.match(res.text, /href="\/hub\/home"/);
    assert.doesNotMatch(res.text, /127\.0\.0\.1/, 'no internal address is shown');
  });

  it('a URL with no route gives the hub 404 page', async () => {
    const res = await t.get('/nowhere/at/all');
    assert.equal(res.status, 404);
    assert.match(res.text, /<title>[^<]*Error 404/);
    assert.match(res.text, /Nothing is served at this URL/);
  });

  it('API paths and JSON clients still get JSON', async () => {
    const api = await t.get('/user/ghost/api/kernels');
    assert.equal(api.status, 503);
    assert.match(String(api.headers['content-type']), /json/);
    assert.equal((api.json() as { status: number }).status, 503);
    const accept = await t.get('/user/ghost/lab', { accept: 'application/json' });
    assert.equal(accept.status, 503);
    assert.equal((accept.json() as { status: number }).status, 503);
  });

  it('the hub answers an unknown or malformed code with its 404 page, never a 500', async () => {
    for (const code of ['200', 'abc', '999']) {
      const res = await fetch(`${hub.base}/hub/error/${code}`);
      assert.equal(res.status, 404, code);
      assert.match(await res.text(), /Error 404/);
    }
  });
});

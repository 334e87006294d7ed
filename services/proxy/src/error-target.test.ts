import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type Backend, listening, unusedPort } from './testing/backends.ts';
import { startTestProxy, type TestProxy } from './testing/harness.ts';

/** An error-page server like JupyterHub's /hub/error/<code>: it answers with the code and echoes what it got. */
async function startErrorPages(): Promise<Backend & { seen: http.IncomingMessage[] }> {
  const seen: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req);
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.endsWith('/huge/404')) {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('x'.repeat(300 * 1024));
      return;
    }
    const code = Number(url.pathname.split('/').at(-1));
    res.writeHead(code, { 'content-type': 'text/html; charset=utf-8', 'x-internal': 'not passed on' });
    res.end(`<p>hub error page ${code} for ${url.searchParams.get('url')}</p>`);
  });
  return { ...(await listening('errors', server)), seen };
}

describe('error target (CHP --error-target)', () => {
  let pages: Awaited<ReturnType<typeof startErrorPages>>;
  let t: TestProxy;
  before(async () => {
    pages = await startErrorPages();
    t = await startTestProxy({ errorTarget: `${pages.url}/hub/error` });
    await t.addRoute('/user/down', `http://127.0.0.1:${await unusedPort()}`);
  });
  after(async () => {
    await t.close();
    await pages.close();
  });

  it('serves the 404 page from the error target, with the status and the request URL', async () => {
    const before = pages.seen.length;
    const res = await t.get('/nowhere/x?a=1', { cookie: 'berth-session=secret', authorization: 'token t' });
    assert.equal(res.status, 404);
    assert.equal(res.text, '<p>hub error page 404 for /nowhere/x?a=1</p>');
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['x-internal'], undefined);
    const asked = pages.seen[before];
    assert.equal(new URL(asked?.url ?? '', 'http://x').pathname, '/hub/error/404');
    assert.equal(asked?.headers.cookie, undefined, 'no client cookie reaches the error target');
    assert.equal(asked?.headers.authorization, undefined);
  });

  it('serves the 503 page when the route target is down', async () => {
    const res = await t.get('/user/down/lab');
    assert.equal(res.status, 503);
    assert.equal(res.text, '<p>hub error page 503 for /user/down/lab</p>');
  });

  it('keeps answering JSON itself to API clients', async () => {
    const before = pages.seen.length;
    const api = await t.get('/user/down/api/status');
    assert.equal(api.status, 503);
    assert.equal((api.json() as { status: number }).status, 503);
    const accept = await t.get('/nowhere', { accept: 'application/json' });
    assert.equal(accept.status, 404);
    assert.equal((accept.json() as { status: number }).status, 404);
    assert.equal(pages.seen.length, before, 'the error target was not asked');
  });

  it('falls back to the built-in page when the error target is down or its page too large', async () => {
    const down = await startTestProxy({ errorTarget: `http://127.0.0.1:${await unusedPort()}/hub/error/` });
    const huge = await startTestProxy({ errorTarget: `${pages.url}/huge/` });
    try {
      for (const proxy of [down, huge]) {
        const res = await proxy.get('/nowhere');
        assert.equal(res.status, 404);
        assert.match(String(res.headers['content-type']), /^text\/html/);
        assert.match(res.text, /<h1>404 Not Found<\/h1>/);
      }
    } finally {
      await down.close();
      await huge.close();
    }
  });
});

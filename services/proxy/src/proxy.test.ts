import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type Backend, type SeenRequest, startHttpBackend } from './testing/backends.ts';
import { startTestProxy, type TestProxy } from './testing/harness.ts';

function seen(res: { status: number; json(): unknown }): SeenRequest {
  assert.equal(res.status, 200);
  return res.json() as SeenRequest;
}

describe('public proxy routing', () => {
  let t: TestProxy;
  const backends: Record<string, Backend> = {};
  before(async () => {
    for (const name of ['alice', 'alice2', 'al', 'bob', 'hub', 'spaced'])
      backends[name] = await startHttpBackend(name);
    t = await startTestProxy({ defaultTarget: backends.hub?.url });
    await t.addRoute('/user/alice', backends.alice?.url ?? '');
    await t.addRoute('/user/alice2/', backends.alice2?.url ?? '');
    await t.addRoute('/user/al', backends.al?.url ?? '');
    await t.addRoute('/user/bob/', backends.bob?.url ?? '');
    await t.addRoute('/user/d%C3%A9j%C3%A0%20vu', backends.spaced?.url ?? '');
  });
  after(async () => {
    await t.close();
    await Promise.all(Object.values(backends).map((b) => b.close()));
  });

  it('answers the health check itself, even with a default target', async () => {
    const res = await t.get('/_chp_healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { status: 'OK' });
  });

  it('routes by longest prefix on whole segments, forwarding the full path and query', async () => {
    const cases: [string, string][] = [
      ['/user/alice/api/status?x=1&y=%2F', 'alice'],
      ['/user/alice', 'alice'],
      ['/user/alice2/lab', 'alice2'],
      ['/user/al/tree', 'al'],
      ['/user/alic/x', 'hub'],
      ['/user/alice22', 'hub'],
      ['/hub/home', 'hub'],
      ['/', 'hub'],
    ];
    for (const [path, backend] of cases) {
      const got = seen(await t.get(path));
      assert.equal(got.backend, backend, path);
      assert.equal(got.url, path, path);
    }
  });

  it('treats a trailing slash like CHP: /user/alice and /user/alice/ are the same route', async () => {
    assert.equal(seen(await t.get('/user/alice/')).backend, 'alice');
    assert.equal(seen(await t.get('/user/bob')).backend, 'bob');
    assert.equal(seen(await t.get('/user/bob/')).url, '/user/bob/');
  });

  it('matches percent-encoded paths after decoding, like CHP, and forwards them as sent', async () => {
    const got = seen(await t.get('/user/al%69ce/files/a%20b.ipynb'));
    assert.equal(got.backend, 'alice');
    assert.equal(got.url, '/user/al%69ce/files/a%20b.ipynb');
    assert.equal(seen(await t.get('/user/d%C3%A9j%C3%A0%20vu/lab')).backend, 'spaced');
    // CHP decodes before splitting, so %2F separates segments.
    assert.equal(seen(await t.get('/user%2Falice/x')).backend, 'alice');
  });

  it('answers 400 for malformed percent-encoding instead of failing', async () => {
    const res = await t.get('/user/alice/%E0%A4%A');
    assert.equal(res.status, 400);
    assert.match(String(res.headers['content-type']), /^text\/html/);
  });

  it('never lets a dot segment escape a route: the target sees exactly the path that was matched', async () => {
    for (const path of [
      '/user/alice/../bob/',
      '/user/alice/%2e%2e/bob/',
      '/user/alice/.%2E/bob/',
      '/user/alice/./../bob/',
    ]) {
      const got = seen(await t.get(path));
      assert.equal(got.backend, 'bob', path);
      assert.equal(got.url, '/user/bob/', path);
    }
    const up = seen(await t.get('/user/alice/../../hub/home'));
    assert.equal(up.backend, 'hub');
    assert.equal(up.url, '/hub/home');
    // An encoded slash does not form a dot segment: this stays in bob's route, as the browser scopes it.
    const encoded = seen(await t.get('/user/bob/..%2F..%2Fuser/alice/'));
    assert.equal(encoded.backend, 'bob');
    assert.equal(encoded.url, '/user/bob/..%2F..%2Fuser/alice/');
  });

  it('does not read a host from a `//` path', async () => {
    const got = seen(await t.get('//user/alice/x'));
    assert.equal(got.backend, 'alice');
    assert.equal(got.url, '//user/alice/x');
  });

  it('adds X-Forwarded-* headers and keeps the Host header', async () => {
    const got = seen(
      await t.get('/user/alice/x', { host: 'berth.example:443', 'x-forwarded-for': '203.0.113.9' }),
    );
    assert.equal(got.headers['x-forwarded-for'], '203.0.113.9,127.0.0.1');
    assert.equal(got.headers['x-forwarded-proto'], 'http');
    assert.equal(got.headers['x-forwarded-host'], 'berth.example:443');
    assert.equal(got.headers['x-forwarded-port'], '443');
    assert.equal(got.headers.host, 'berth.example:443');
  });

  it('passes methods, bodies and upstream statuses through', async () => {
    const post = await t.send({ method: 'POST', path: '/user/bob/api/x', body: '{"a":1}' });
    assert.equal(seen(post).method, 'POST');
    const missing = await t.get('/user/bob/__status/404');
    assert.equal(missing.status, 404);
    assert.equal((missing.json() as SeenRequest).backend, 'bob');
    const redirect = await t.get('/user/bob/__status/302');
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.location, '/elsewhere');
  });

  it('reuses upstream connections through a keep-alive agent, leaving the global agent alone', async () => {
    const globalAgent = http.globalAgent;
    const first = seen(await t.get('/user/alice2/a'));
    const second = seen(await t.get('/user/alice2/b'));
    assert.equal(second.remotePort, first.remotePort);
    assert.equal(second.headers.connection, 'keep-alive');
    assert.equal(http.globalAgent, globalAgent);
  });

  it('follows route changes immediately', async () => {
    await t.addRoute('/user/alice/special', backends.bob?.url ?? '');
    assert.equal(seen(await t.get('/user/alice/special/x')).backend, 'bob');
    assert.equal(seen(await t.get('/user/alice/specialx')).backend, 'alice');
    await t.api('DELETE', '/api/routes/user/alice/special');
    assert.equal(seen(await t.get('/user/alice/special/x')).backend, 'alice');
  });
});

describe('public proxy without a default target', () => {
  let t: TestProxy;
  before(async () => {
    t = await startTestProxy();
  });
  after(() => t.close());

  it('answers 404 as HTML for browsers and JSON for API clients', async () => {
    const page = await t.get('/hub/home', { accept: 'text/html' });
    assert.equal(page.status, 404);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.text, /<h1>404 Not Found<\/h1>/);
    assert.equal(page.headers['content-security-policy'], "default-src 'none'");

    const api = await t.get('/user/x/api/status');
    assert.equal(api.status, 404);
    assert.equal((api.json() as { status: number }).status, 404);
    const accept = await t.get('/hub/home', { accept: 'application/json' });
    assert.equal((accept.json() as { status: number }).status, 404);
  });

  it('never echoes the request into the error page', async () => {
    const res = await t.get('/<script>alert(1)</script>');
    assert.equal(res.status, 404);
    assert.doesNotMatch(res.text, /script/);
  });
});

describe('host routing', () => {
  let t: TestProxy;
  let alice: Backend;
  let hub: Backend;
  before(async () => {
    alice = await startHttpBackend('alice');
    hub = await startHttpBackend('hub');
    t = await startTestProxy({ hostRouting: true, defaultTarget: hub.url });
    await t.addRoute('/alice.berth.example', alice.url);
  });
  after(async () => {
    await t.close();
    await alice.close();
    await hub.close();
  });

  it('routes on the Host header, case- and port-insensitively', async () => {
    const got = seen(await t.get('/lab', { host: 'Alice.Berth.Example:8443' }));
    assert.equal(got.backend, 'alice');
    assert.equal(got.url, '/lab');
    assert.equal(seen(await t.get('/lab', { host: 'bob.berth.example' })).backend, 'hub');
    assert.equal(seen(await t.get('/alice.berth.example/lab', { host: 'berth.example' })).backend, 'hub');
  });

  it('refuses a Host header that is not a host name', async () => {
    assert.equal((await t.get('/lab', { host: 'alice.berth.example/../x' })).status, 400);
  });
});

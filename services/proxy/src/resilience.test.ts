import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Backend, startHttpBackend, unusedPort } from './testing/backends.ts';
import { startTestProxy, type TestProxy } from './testing/harness.ts';
import { TIMED_OUT } from './testing/http-client.ts';
import { rawExchange } from './testing/raw.ts';
import { startStalledTarget } from './testing/stalled-target.ts';
import { tick, waitFor } from './testing/wait.ts';

describe('upstream failures and activity', () => {
  let t: TestProxy;
  let alice: Backend;
  let downUrl: string;
  before(async () => {
    alice = await startHttpBackend('alice');
    downUrl = `http://127.0.0.1:${await unusedPort()}`;
    t = await startTestProxy({ connectTimeoutMs: 300 });
    await t.addRoute('/user/alice', alice.url);
    await t.addRoute('/user/down', downUrl);
  });
  after(async () => {
    await t.close();
    await alice.close();
  });

  it('answers 503 with a small HTML page when the target is down', async () => {
    const res = await t.get('/user/down/lab', { accept: 'text/html' });
    assert.equal(res.status, 503);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.text, /<h1>503 Service Unavailable<\/h1>/);
    assert.doesNotMatch(res.text, /127\.0\.0\.1/);
  });

  it('answers 503 as JSON for API paths and JSON clients', async () => {
    for (const [path, headers] of [
      ['/user/down/api/kernels', {}],
      ['/user/down/lab', { accept: 'application/json' }],
    ] as const) {
      const res = await t.get(path, headers);
      assert.equal(res.status, 503);
      const body = res.json() as { status: number; message: string };
      assert.equal(body.status, 503);
      assert.equal(typeof body.message, 'string');
    }
  });

  it('gives up connecting after the connect timeout (300 ms here)', async () => {
    const stalled = await startStalledTarget();
    try {
      await t.addRoute('/user/stalled', stalled.url);
      const started = performance.now();
      const res = await t.get('/user/stalled/x', { accept: 'application/json' });
      const elapsed = performance.now() - started;
      assert.equal(res.status, 503);
      assert.ok(elapsed >= 250 && elapsed < 2_000, `took ${elapsed} ms`);
    } finally {
      await stalled.close();
    }
  });

  it('stamps last_activity on a successful proxied response', async () => {
    const before = await t.lastActivity('/user/alice');
    await tick();
    assert.equal((await t.get('/user/alice/api/status')).status, 200);
    await waitFor(async () => (await t.lastActivity('/user/alice')) > before);
  });

  it('does not stamp last_activity on failed, missing or redirected responses', async () => {
    const down = await t.lastActivity('/user/down');
    const up = await t.lastActivity('/user/alice');
    await tick();
    assert.equal((await t.get('/user/down/x')).status, 503);
    assert.equal((await t.get('/user/alice/__status/404')).status, 404);
    assert.equal((await t.get('/user/alice/__status/302')).status, 302);
    assert.equal((await t.get('/user/alice/__status/500')).status, 500);
    // Let any pending stamp land: a successful request elsewhere, then read.
    await t.addRoute('/user/other', alice.url);
    assert.equal((await t.get('/user/other/x')).status, 200);
    await waitFor(async () => (await t.lastActivity('/user/other')) > up);
    assert.equal(await t.lastActivity('/user/down'), down);
    assert.equal(await t.lastActivity('/user/alice'), up);
  });

  it('survives an upstream that resets mid-response', async () => {
    // The client sees the response cut short, not a response that never ends.
    await assert.rejects(t.get('/user/alice/__reset'), (err: Error) => err.message !== TIMED_OUT);
    assert.equal((await t.get('/_chp_healthz')).status, 200);
  });
});

describe('malformed and aborted requests', () => {
  let t: TestProxy;
  let alice: Backend;
  before(async () => {
    alice = await startHttpBackend('alice');
    t = await startTestProxy({ defaultTarget: alice.url });
  });
  after(async () => {
    await t.close();
    await alice.close();
  });

  async function stillHealthy() {
    assert.equal((await t.get('/_chp_healthz')).status, 200);
    assert.equal((await t.api('GET', '/api/routes')).status, 200);
  }

  it('answers garbage with 400 on both listeners and keeps serving', async () => {
    for (const port of [t.proxy.port, t.proxy.apiPort]) {
      const answer = await rawExchange(port, 'GARBAGE \x00\x01\x02 NOT HTTP\r\n\r\n');
      assert.match(answer, /^HTTP\/1\.1 400 /);
      const binary = await rawExchange(port, Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x01, 0x00]));
      assert.ok(binary === '' || binary.startsWith('HTTP/1.1 400'), binary);
    }
    await stillHealthy();
  });

  it('answers 431 to oversized headers', async () => {
    const answer = await rawExchange(
      t.proxy.port,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    assert.match(answer, /^HTTP\/1\.1 431 /);
    await stillHealthy();
  });

  it('answers 400 to request targets that are not paths', async () => {
    for (const target of ['foo', '*', 'example.com:443']) {
      const answer = await rawExchange(
        t.proxy.port,
        `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assert.match(answer, /^HTTP\/1\.1 400 /, target);
    }
    await stillHealthy();
  });

  it('answers a WebSocket upgrade without a route, or with another protocol, then closes', async () => {
    const h2c = await rawExchange(
      t.proxy.port,
      'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n',
    );
    assert.match(h2c, /^HTTP\/1\.1 400 /);
    await stillHealthy();
  });

  it('survives clients that vanish mid-request and mid-response', async () => {
    // Body promised but never sent in full.
    const partial = net.connect(t.proxy.port, '127.0.0.1');
    partial.on('error', () => {});
    partial.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly-a-bit');
    await new Promise((resolve) => setTimeout(resolve, 50));
    partial.destroy();

    // Waiting on an upstream that never answers, then gone.
    const hanging = http.get({ host: '127.0.0.1', port: t.proxy.port, path: '/__hang', agent: false });
    hanging.on('error', () => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    hanging.destroy();

    // Half a request line.
    const half = net.connect(t.proxy.port, '127.0.0.1');
    half.on('error', () => {});
    half.end('GET /user/al');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await stillHealthy();
  });
});

describe('slow clients', () => {
  let t: TestProxy;
  before(async () => {
    t = await startTestProxy({ headersTimeoutMs: 300 });
  });
  after(() => t.close());

  it('closes a connection whose headers do not arrive in time (408)', async () => {
    const started = performance.now();
    const answer = await rawExchange(t.proxy.port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ', 5_000);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.ok(performance.now() - started < 3_000);
  });
});

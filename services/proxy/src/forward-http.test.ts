/**
 * Forwarding HTTP requests through undici (forward-http.ts): what http-proxy-3 did on this path is still done,
 * against real backends through a real proxy. Routing, X-Forwarded-*, upstream failures and client aborts are in
 * proxy.test.ts and resilience.test.ts.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { joinPath } from './forward-http.ts';
import { type Backend, listening } from './testing/backends.ts';
import { startTestProxy, type TestProxy } from './testing/harness.ts';
import { waitFor } from './testing/wait.ts';

describe('joinPath (http-proxy-3 urlJoin for a target path and a request path)', () => {
  it('prepends the target path with one slash between, and joins queries', () => {
    assert.equal(joinPath('', '/user/a?x=1'), '/user/a?x=1');
    assert.equal(joinPath('/', '/user/a'), '/user/a');
    assert.equal(joinPath('/prefix', '/user/a'), '/prefix/user/a');
    assert.equal(joinPath('/prefix/', '/user/a'), '/prefix/user/a');
    assert.equal(joinPath('/prefix?k=v', '/user/a?x=1'), '/prefix/user/a?k=v&x=1');
    assert.equal(joinPath('/prefix?k=v', '/user/a'), '/prefix/user/a?k=v');
    assert.equal(joinPath('/p', '/user//a/'), '/p/user//a/');
  });
});

/** What the echo backend saw. */
interface Echo {
  url: string;
  method: string;
  headers: http.IncomingHttpHeaders;
  bodyLength: number;
  bodySum: number;
}

describe('forwarding HTTP through the proxy', () => {
  let t: TestProxy;
  let echo: Backend;
  let stream: Backend;
  /** How many bytes the streaming backend managed to write before the proxy stopped reading. */
  let streamed = { written: 0, blocked: false, closedEarly: false };
  before(async () => {
    echo = await listening(
      'echo',
      http.createServer((req, res) => {
        let bodyLength = 0;
        let bodySum = 0;
        req.on('data', (chunk: Buffer) => {
          bodyLength += chunk.length;
          for (const b of chunk) bodySum = (bodySum + b) % 65_521;
        });
        req.on('end', () => {
          const seen: Echo = {
            url: req.url ?? '',
            method: req.method ?? '',
            headers: req.headers,
            bodyLength,
            bodySum,
          };
          res.statusMessage = 'Quite Fine';
          res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(seen));
        });
      }),
    );
    stream = await listening(
      'stream',
      http.createServer((_req, res) => {
        streamed = { written: 0, blocked: false, closedEarly: false };
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 7);
        res.on('close', () => {
          if (!res.writableFinished) streamed.closedEarly = true;
        });
        // Up to 256 MiB, as fast as the proxy takes it; it stops when the proxy stops taking.
        const pump = () => {
          while (streamed.written < 256 * 1024 * 1024) {
            streamed.written += chunk.length;
            if (!res.write(chunk)) {
              streamed.blocked = true;
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        pump();
      }),
    );
    t = await startTestProxy();
    await t.addRoute('/svc', `${echo.url}/prefix?k=v`);
    await t.addRoute('/plain', echo.url);
    await t.addRoute('/stream', stream.url);
  });
  after(async () => {
    await t.close();
    await echo.close();
    await stream.close();
  });

  it('prepends a target path and query, like CHP', async () => {
    const res = await t.get('/svc/x?q=1');
    assert.equal(res.status, 200);
    assert.equal((res.json() as Echo).url, '/prefix/svc/x?k=v&q=1');
  });

  it('passes on the status message, every Set-Cookie line and the Host header', async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http
        .get({
          host: '127.0.0.1',
          port: t.proxy.port,
          path: '/plain/x',
          headers: { host: 'hub.example' },
          agent: false,
        })
        .on('response', resolve)
        .on('error', reject);
    });
    res.resume();
    assert.equal(res.statusCode, 200);
    assert.equal(res.statusMessage, 'Quite Fine');
    assert.deepEqual(res.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
    const body = await t.get('/plain/x', { host: 'hub.example' });
    assert.equal((body.json() as Echo).headers.host, 'hub.example');
  });

  it('forwards a chunked upload of several MiB byte for byte', async () => {
    const size = 3 * 1024 * 1024 + 17;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = (i * 31) % 251;
    let sum = 0;
    for (const b of data) sum = (sum + b) % 65_521;
    const seen = await new Promise<Echo>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: t.proxy.port, method: 'PUT', path: '/plain/upload', agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as Echo));
        },
      );
      req.on('error', reject);
      // No Content-Length: Node sends it chunked.
      for (let at = 0; at < size; at += 100_000) req.write(data.subarray(at, at + 100_000));
      req.end();
    });
    assert.equal(seen.method, 'PUT');
    assert.equal(seen.headers['transfer-encoding'], 'chunked');
    assert.equal(seen.bodyLength, size);
    assert.equal(seen.bodySum, sum);
  });

  it('forwards a DELETE without a body', async () => {
    const res = await t.send({ method: 'DELETE', path: '/plain/thing' });
    const seen = res.json() as Echo;
    assert.equal(seen.method, 'DELETE');
    assert.equal(seen.bodyLength, 0);
  });

  it('drops hop-by-hop request headers, keeping the rest', async () => {
    const res = await t.get('/plain/h', { 'keep-alive': 'timeout=5', te: 'trailers', 'x-custom': 'kept' });
    const seen = res.json() as Echo;
    assert.equal(seen.headers['keep-alive'], undefined);
    assert.equal(seen.headers['x-custom'], 'kept');
  });

  it('stops reading from the upstream while the client does not read (bounded memory per connection)', async () => {
    const client = net.connect(t.proxy.port, '127.0.0.1');
    await once(client, 'connect');
    client.write('GET /stream/big HTTP/1.1\r\nHost: x\r\n\r\n');
    // Read the first bytes only, then stop reading.
    await once(client, 'data');
    client.pause();
    await waitFor(() => streamed.blocked, 5_000);
    const at = streamed.written;
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Without backpressure the proxy would buffer the whole 256 MiB; with it, the upstream is held back after the
    // socket buffers on both sides fill (a few MiB at most).
    assert.ok(streamed.written < 32 * 1024 * 1024, `the upstream wrote ${streamed.written} bytes`);
    assert.ok(
      streamed.written - at < 8 * 1024 * 1024,
      'the upstream kept writing while the client did not read',
    );
    client.destroy();
    // The client went away: the upstream request is cut, not left writing into the proxy.
    await waitFor(() => streamed.closedEarly, 5_000);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Backend, unusedPort } from './testing/backends.ts';
import { startTestProxy, type TestProxy } from './testing/harness.ts';
import { rawExchange } from './testing/raw.ts';
import { tick, waitFor, within } from './testing/wait.ts';
import { startWebSocketBackend } from './testing/ws-backend.ts';

/** Open a WebSocket and collect its messages; resolves once open, rejects on error before that. */
async function connect(url: string): Promise<{ ws: WebSocket; next(): Promise<string> }> {
  const ws = new WebSocket(url);
  const queue: string[] = [];
  const waiters: ((message: string) => void)[] = [];
  ws.addEventListener('message', (event) => {
    const message = String(event.data);
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  await within(
    new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve());
      ws.addEventListener('error', () => reject(new Error('WebSocket failed to open')));
    }),
    5_000,
    'WebSocket open',
  );
  const next = () => {
    const queued = queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return within(new Promise<string>((resolve) => waiters.push(resolve)), 5_000, 'WebSocket message');
  };
  return { ws, next };
}

function closed(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return within(
    new Promise((resolve) => ws.addEventListener('close', () => resolve())),
    5_000,
    'WebSocket close',
  );
}

describe('WebSocket proxying', () => {
  let t: TestProxy;
  let alice: Backend;
  let bob: Backend;
  before(async () => {
    alice = await startWebSocketBackend('alice');
    bob = await startWebSocketBackend('bob');
    t = await startTestProxy();
    await t.addRoute('/user/alice', alice.url);
    await t.addRoute('/user/bob', bob.url);
    await t.addRoute('/user/down', `http://127.0.0.1:${await unusedPort()}`);
  });
  after(async () => {
    await t.close();
    await alice.close();
    await bob.close();
  });

  it('echoes messages through the proxy, to the longest-prefix target, with the full path', async () => {
    const path = '/user/alice/api/kernels/k1/channels?session_id=s1';
    const { ws, next } = await connect(`ws://127.0.0.1:${t.proxy.port}${path}`);
    ws.send('hello');
    assert.equal(await next(), 'hello');
    ws.send('x'.repeat(5_000));
    assert.equal(await next(), 'x'.repeat(5_000));
    ws.send('whoami');
    const who = JSON.parse(await next()) as { backend: string; url: string; headers: Record<string, string> };
    assert.equal(who.backend, 'alice');
    assert.equal(who.url, path);
    assert.equal(who.headers['x-forwarded-proto'], 'http');
    assert.equal(who.headers['x-forwarded-for'], '127.0.0.1');
    ws.close();
    await closed(ws);
  });

  it('routes a WebSocket with dot segments by its resolved path', async () => {
    // A raw client: WebSocket and fetch resolve `..` before sending. The masked frame follows the headers.
    const mask = Buffer.from([1, 2, 3, 4]);
    const text = Buffer.from('whoami');
    const frame = Buffer.concat([
      Buffer.from([0x81, 0x80 | text.length]),
      mask,
      text.map((byte, i) => byte ^ (mask[i % 4] ?? 0)),
    ]);
    const answer = await rawExchange(
      t.proxy.port,
      Buffer.concat([
        Buffer.from(
          'GET /user/alice/../bob/api/events HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
            'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        ),
        frame,
      ]),
      500,
    );
    assert.match(answer, /^HTTP\/1\.1 101 /);
    assert.match(answer, /sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
    assert.match(answer, /"backend":"bob","url":"\/user\/bob\/api\/events"/);
  });

  it('stamps last_activity on WebSocket traffic', async () => {
    const { ws, next } = await connect(`ws://127.0.0.1:${t.proxy.port}/user/bob/terminals/websocket/1`);
    const opened = await t.lastActivity('/user/bob');
    await tick();
    ws.send('ping');
    assert.equal(await next(), 'ping');
    await waitFor(async () => (await t.lastActivity('/user/bob')) > opened);
    ws.close();
    await closed(ws);
  });

  it('fails the upgrade cleanly when the target is down, and keeps serving', async () => {
    const before = await t.lastActivity('/user/down');
    await assert.rejects(connect(`ws://127.0.0.1:${t.proxy.port}/user/down/api/kernels/k/channels`));
    const answer = await rawExchange(
      t.proxy.port,
      'GET /user/down/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    assert.match(answer, /^HTTP\/1\.1 503 /);
    assert.equal(await t.lastActivity('/user/down'), before);
    assert.equal((await t.get('/_chp_healthz')).status, 200);
  });

  it('answers 404 to a WebSocket without a route', async () => {
    const answer = await rawExchange(
      t.proxy.port,
      'GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    assert.match(answer, /^HTTP\/1\.1 404 /);
  });
});

describe('WebSocket activity throttling', () => {
  it('stamps on open, then at most once per interval, not per message', async () => {
    const backend = await startWebSocketBackend('alice');
    const t = await startTestProxy({ wsActivityIntervalMs: 60_000 });
    try {
      await t.addRoute('/user/alice', backend.url);
      const added = await t.lastActivity('/user/alice');
      await tick();
      const { ws, next } = await connect(`ws://127.0.0.1:${t.proxy.port}/user/alice/ws`);
      const opened = await t.lastActivity('/user/alice');
      assert.ok(opened > added);
      await tick();
      for (const message of ['a', 'b', 'c']) {
        ws.send(message);
        assert.equal(await next(), message);
      }
      assert.equal(await t.lastActivity('/user/alice'), opened);
      ws.close();
      await closed(ws);
    } finally {
      await t.close();
      await backend.close();
    }
  });
});

describe('shutdown', () => {
  it('closes promptly, cutting open WebSockets', async () => {
    const backend = await startWebSocketBackend('alice');
    const t = await startTestProxy({ shutdownGraceMs: 5_000 });
    try {
      await t.addRoute('/user/alice', backend.url);
      const { ws, next } = await connect(`ws://127.0.0.1:${t.proxy.port}/user/alice/ws`);
      ws.send('hi');
      assert.equal(await next(), 'hi');
      const started = performance.now();
      await t.close();
      await closed(ws);
      assert.ok(performance.now() - started < 1_000);
      await assert.rejects(t.get('/_chp_healthz'));
    } finally {
      await t.close();
      await backend.close();
    }
  });
});

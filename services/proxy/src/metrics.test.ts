import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Backend, startHttpBackend, unusedPort } from './testing/backends.ts';
import { startTestProxy, type TestProxy } from './testing/harness.ts';
import { request } from './testing/http-client.ts';
import { waitFor, within } from './testing/wait.ts';
import { startWebSocketBackend } from './testing/ws-backend.ts';

/** One sample's value from Prometheus' text format, e.g. `berth_proxy_errors_total{kind="upstream"}`. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe('metrics listener', () => {
  let t: TestProxy;
  let http: Backend;
  let ws: Backend;
  const scrape = async () => {
    const res = await request(t.proxy.metricsPort, { path: '/metrics' });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return res.text;
  };

  before(async () => {
    http = await startHttpBackend('alice');
    ws = await startWebSocketBackend('bob');
    t = await startTestProxy();
    await t.addRoute('/user/alice', http.url);
    await t.addRoute('/user/bob', ws.url);
    await t.addRoute('/user/down', `http://127.0.0.1:${await unusedPort()}`);
  });
  after(async () => {
    await t.close();
    await http.close();
    await ws.close();
  });

  it('listens on its own port, apart from the public and API listeners', async () => {
    assert.notEqual(t.proxy.metricsPort, t.proxy.port);
    assert.notEqual(t.proxy.metricsPort, t.proxy.apiPort);
    assert.equal((await request(t.proxy.metricsPort, { path: '/' })).status, 404);
    assert.equal((await request(t.proxy.metricsPort, { path: '/api/routes' })).status, 404);
    assert.equal((await request(t.proxy.metricsPort, { method: 'POST', path: '/metrics' })).status, 404);
    assert.equal((await t.get('/metrics')).status, 404, 'not served on the public listener');
  });

  it('counts requests by status class, with latency, and errors by kind', async () => {
    const series = [
      'berth_proxy_http_requests_total{status="2xx"}',
      'berth_proxy_http_requests_total{status="3xx"}',
      'berth_proxy_http_requests_total{status="4xx"}',
      'berth_proxy_http_requests_total{status="5xx"}',
      'berth_proxy_http_request_duration_seconds_count',
      'berth_proxy_errors_total{kind="no_route"}',
      'berth_proxy_errors_total{kind="upstream"}',
    ];
    const before = await scrape();
    for (let i = 0; i < 3; i++) assert.equal((await t.get('/user/alice/x')).status, 200);
    assert.equal((await t.get('/user/alice/__status/302')).status, 302);
    assert.equal((await t.get('/nowhere')).status, 404);
    assert.equal((await t.get('/user/down/x')).status, 503);
    const after = await scrape();
    const delta = series.map((s) => (sample(after, s) ?? 0) - (sample(before, s) ?? 0));
    assert.deepEqual(delta, [3, 1, 1, 1, 6, 1, 1]);
    assert.ok((sample(after, 'berth_proxy_http_request_duration_seconds_bucket{le="+Inf"}') ?? 0) >= 6);
  });

  it('reports routes, open sockets, API requests and process metrics', async () => {
    const text = await scrape();
    assert.equal(sample(text, 'berth_proxy_routes'), 3);
    assert.ok((sample(text, 'berth_proxy_api_requests_total{method="POST",status="201"}') ?? 0) >= 3);
    assert.ok(sample(text, 'berth_proxy_open_sockets') !== undefined);
    assert.ok((sample(text, 'berth_proxy_process_resident_memory_bytes') ?? 0) > 0);
  });

  it('gauges open WebSockets and counts them', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${t.proxy.port}/user/bob/ws`);
    await within(new Promise((resolve) => socket.addEventListener('open', resolve)), 5_000, 'open');
    await waitFor(async () => sample(await scrape(), 'berth_proxy_websocket_connections') === 1);
    const during = await scrape();
    assert.equal(sample(during, 'berth_proxy_websocket_connections_total'), 1);
    assert.ok((sample(during, 'berth_proxy_open_sockets') ?? 0) >= 1);
    socket.close();
    await waitFor(async () => sample(await scrape(), 'berth_proxy_websocket_connections') === 0);
  });
});

/** Load generators: autocannon for HTTP, a ping-pong loop over `ws` for WebSocket round trips and the soak. */
import autocannon from 'autocannon';
import WebSocket from 'ws';

export interface HttpResult {
  readonly rps: number;
  readonly p99Ms: number;
  readonly bytesPerSec: number;
  readonly errors: number;
  /** Requests completed in the run. */
  readonly requests: number;
}

export async function http(url: string, connections: number, seconds: number): Promise<HttpResult> {
  const r = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  return {
    rps: r.requests.average,
    p99Ms: r.latency.p99,
    bytesPerSec: r.throughput.average,
    errors: r.errors + r.timeouts + r.non2xx,
    requests: r.requests.total,
  };
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

export interface WsResult {
  readonly roundTripsPerSec: number;
  readonly errors: number;
}

/** `connections` sockets, each sending a message and waiting for its echo, again and again, for `seconds`. */
export async function wsRoundTrips(url: string, connections: number, seconds: number): Promise<WsResult> {
  const sockets = await Promise.all(Array.from({ length: connections }, () => open(url)));
  let trips = 0;
  let errors = 0;
  const payload = Buffer.alloc(64, 'p');
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.on('error', () => {
            errors++;
            resolve();
          });
          ws.on('message', () => {
            trips++;
            if (performance.now() < deadline) ws.send(payload);
            else resolve();
          });
          ws.send(payload);
        }),
    ),
  );
  const elapsed = (performance.now() - started) / 1000;
  for (const ws of sockets) ws.terminate();
  return { roundTripsPerSec: trips / elapsed, errors };
}

export interface SoakResult {
  readonly messages: number;
  readonly errors: number;
  /** RSS samples of the proxy, bytes, from the first (after connecting and warming up) to the last. */
  readonly rss: readonly number[];
  readonly fdsBefore: number;
  readonly fdsAfter: number;
}

/**
 * `connections` sockets held open for `seconds`, each sending a message every `intervalMs` and checking its echo.
 * RSS is sampled once a second; file descriptors are counted before the sockets open and after they close.
 */
export async function wsSoak(
  url: string,
  proc: { rss(): number; fds(): number },
  connections: number,
  seconds: number,
  intervalMs = 100,
): Promise<SoakResult> {
  const fdsBefore = proc.fds();
  const sockets = await Promise.all(Array.from({ length: connections }, () => open(url)));
  let messages = 0;
  let errors = 0;
  const payload = Buffer.alloc(256, 's');
  for (const ws of sockets) {
    ws.on('error', () => errors++);
    ws.on('close', (code) => {
      if (code !== 1005 && code !== 1000) errors++;
    });
    ws.on('message', (data: Buffer) => {
      if (data.length === payload.length) messages++;
      else errors++;
    });
  }
  const senders = sockets.map((ws, i) =>
    setTimeout(
      () => {
        senders[i] = setInterval(() => ws.send(payload), intervalMs);
      },
      Math.floor((i * intervalMs) / connections),
    ),
  );
  const rss: number[] = [];
  const warmup = Math.min(5, Math.max(1, Math.floor(seconds / 10)));
  for (let s = 1; s <= seconds; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    if (s >= warmup) rss.push(proc.rss());
  }
  for (const t of senders) clearInterval(t);
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close(1000);
        }),
    ),
  );
  // Give the proxy a moment to close its upstream sides too.
  const deadline = Date.now() + 5_000;
  while (proc.fds() > fdsBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return { messages, errors, rss, fdsBefore, fdsAfter: proc.fds() };
}

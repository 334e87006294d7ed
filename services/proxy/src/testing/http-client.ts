/** A raw HTTP client for tests: the path is sent exactly as given (fetch would resolve `..` and `%2e`). */
import http from 'node:http';

export interface TestResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  json(): unknown;
}

export interface TestRequest {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Reuse connections through this agent; default: a fresh connection per request. */
  readonly agent?: http.Agent;
  /** Give up (reject with TIMED_OUT) after this long without activity; default 5 s. */
  readonly timeoutMs?: number;
}

export const TIMED_OUT = 'test request timed out';

export function request(port: number, req: TestRequest): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      {
        host: '127.0.0.1',
        port,
        method: req.method ?? 'GET',
        path: req.path,
        headers: req.headers,
        agent: req.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
      },
    );
    outgoing.on('error', reject);
    // A hung proxy fails the test instead of hanging it.
    outgoing.setTimeout(req.timeoutMs ?? 5_000, () => outgoing.destroy(new Error(TIMED_OUT)));
    outgoing.end(req.body);
  });
}

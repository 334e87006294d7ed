/**
 * Forwarding one proxied HTTP request to its target through undici's dispatcher (a keep-alive pool per origin,
 * agents.ts), streaming both bodies with backpressure. WebSocket upgrades stay with http-proxy-3.
 *
 * Why not http-proxy-3 here too: per request, `http.request` + `IncomingMessage` + `pipe` cost about twice the
 * CPU of undici's dispatcher, and the proxy's CPU is what bounds its requests per second (docs/proxy.md,
 * "Benchmarks"). What http-proxy-3 does on this path is kept, and tested in proxy.test.ts:
 * - the target's path is prepended to the request's path (urlJoin: one slash between them);
 * - `X-Forwarded-For`/`-Port`/`-Proto` are appended to what the client sent, `X-Forwarded-Host` kept or set;
 * - the `Host` header is passed on unchanged (changeOrigin off);
 * - the status message is passed on to HTTP/1 clients, and the response headers without the hop-by-hop ones;
 * - a client that goes away aborts the upstream request; an upstream that fails before answering is the
 *   caller's error page, and one that dies mid-response cuts the client's response (never a truncated "success").
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';

/** Where a route's requests go: its origin's pool, and the target's own path (prepended, '' for none). */
export interface Upstream {
  readonly dispatcher: Dispatcher;
  readonly basePath: string;
}

/** Why a request could not be forwarded: the request itself (a 400), or the upstream (a 503). */
export type ForwardFailure =
  | { readonly kind: 'bad_request'; readonly message: string }
  | { readonly kind: 'upstream'; readonly error: Error };

/** Hop-by-hop request headers (RFC 9110 §7.6.1), and those undici sets itself or refuses. */
const DROPPED_REQUEST_HEADERS = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'expect',
  'trailer',
];
/** Hop-by-hop response headers: the client connection has its own framing and keep-alive. */
const DROPPED_RESPONSE_HEADERS = ['connection', 'keep-alive', 'transfer-encoding', 'trailer'];

export function forwardHttp(
  req: IncomingMessage,
  res: ServerResponse,
  upstream: Upstream,
  onFailure: (failure: ForwardFailure) => void,
): void {
  const headers: Record<string, string | string[] | undefined> = { ...req.headers };
  const hasBody = headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined;
  for (const name of DROPPED_REQUEST_HEADERS) {
    if (name in headers) delete headers[name];
  }
  forwardedHeaders(req, headers);

  let controller: Dispatcher.DispatchController | undefined;
  let paused = false;
  const resume = () => {
    if (paused) {
      paused = false;
      controller?.resume();
    }
  };
  res.on('close', () => {
    if (!res.writableFinished) controller?.abort(new Error('the client went away'));
  });

  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(c) {
      controller = c;
    },
    onResponseStart(_c, statusCode, responseHeaders, statusMessage) {
      // 1xx informational answers (100 Continue, 103 Early Hints) are not relayed; the final answer follows.
      if (statusCode < 200) return;
      for (const name of DROPPED_RESPONSE_HEADERS) {
        if (name in responseHeaders) delete responseHeaders[name];
      }
      if (statusMessage && req.httpVersionMajor === 1)
        res.writeHead(statusCode, statusMessage, responseHeaders);
      else res.writeHead(statusCode, responseHeaders);
      res.on('drain', resume);
    },
    onResponseData(c, chunk) {
      if (!res.write(chunk)) {
        paused = true;
        c.pause();
      }
    },
    onResponseEnd() {
      res.end();
    },
    onResponseError(_c, error) {
      if (res.headersSent) res.destroy();
      else if (!res.destroyed) onFailure({ kind: 'upstream', error });
    },
  };
  try {
    upstream.dispatcher.dispatch(
      {
        path: joinPath(upstream.basePath, req.url ?? '/'),
        method: req.method ?? 'GET',
        headers,
        body: hasBody ? req : null,
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      handler,
    );
  } catch (err) {
    // undici checks the request before sending it: a header value it refuses is the client's error.
    const code = (err as { code?: unknown }).code;
    if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') {
      onFailure({ kind: 'bad_request', message: 'The request cannot be forwarded: a header is not valid.' });
    } else onFailure({ kind: 'upstream', error: err as Error });
  }
}

/** X-Forwarded-* as http-proxy-3's `xfwd` sets them. */
function forwardedHeaders(
  req: IncomingMessage,
  headers: Record<string, string | string[] | undefined>,
): void {
  const encrypted = req.socket instanceof TLSSocket && req.socket.encrypted;
  const host = req.headers.host;
  const port = (host === undefined ? undefined : /:(\d+)/.exec(host)?.[1]) ?? (encrypted ? '443' : '80');
  append(headers, 'x-forwarded-for', req.socket.remoteAddress ?? '');
  append(headers, 'x-forwarded-port', port);
  append(headers, 'x-forwarded-proto', encrypted ? 'https' : 'http');
  if (!headers['x-forwarded-host']) headers['x-forwarded-host'] = host ?? '';
}

function append(headers: Record<string, string | string[] | undefined>, name: string, value: string): void {
  const prior = headers[name];
  headers[name] = prior ? `${prior},${value}` : value;
}

/**
 * The target's path, then the request's, with one slash between them, and both queries joined with `&`
 * (http-proxy-3's urlJoin for two parts).
 */
export function joinPath(base: string, path: string): string {
  if (base === '' || base === '/') return path;
  const [basePath = '', baseQuery = ''] = splitQuery(base);
  const [reqPath = '', reqQuery = ''] = splitQuery(path);
  let joined: string;
  if (reqPath === '') joined = basePath;
  else if (basePath.endsWith('/')) joined = basePath + (reqPath.startsWith('/') ? reqPath.slice(1) : reqPath);
  else joined = basePath + (reqPath.startsWith('/') ? reqPath : `/${reqPath}`);
  const query = [baseQuery, reqQuery].filter((q) => q !== '').join('&');
  return query === '' ? joined : `${joined}?${query}`;
}

function splitQuery(url: string): [string, string] {
  const at = url.indexOf('?');
  return at === -1 ? [url, ''] : [url.slice(0, at), url.slice(at + 1)];
}

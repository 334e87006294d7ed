/** Error responses: JSON `{status, message}` for API clients, a small static HTML page for browsers. */
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

const RAW_LINGER_MS = 2_000;

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'",
} as const;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

export function errorBody(status: number, message: string): { status: number; message: string } {
  return { status, message };
}

/** Like the hub: JSON for `/api/` paths and for clients that ask for it, HTML otherwise. */
export function wantsJson(req: IncomingMessage): boolean {
  return (
    (req.url ?? '').split('?', 1)[0]?.includes('/api/') === true || /json/i.test(req.headers.accept ?? '')
  );
}

function page(status: number, message: string): string {
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${title}</title></head>
<body><h1>${title}</h1><p>${message}</p></body>
</html>
`;
}

/** Answer a proxied request that could not be served. The message is static: nothing from the request is echoed. */
export function sendProxyError(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  message: string,
): void {
  if (res.headersSent || res.writableEnded) {
    res.destroy();
    return;
  }
  if (wantsJson(req)) {
    sendJson(res, status, errorBody(status, message), SECURITY_HEADERS);
    return;
  }
  const html = page(status, message);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
  });
  res.end(html);
}

/** Answer on a raw socket (WebSocket upgrade, malformed request), then close it. */
export function sendRawError(socket: Duplex, status: number, message: string): void {
  if (!socket.writable || socket.destroyed) {
    socket.destroy();
    return;
  }
  const payload = JSON.stringify(errorBody(status, message));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'connection: close\r\ncontent-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
  );
  // A peer that never closes its side must not hold the socket open.
  setTimeout(() => socket.destroy(), RAW_LINGER_MS).unref();
}

/**
 * A listener's `clientError` handler: malformed requests, oversized headers and slow clients get a short answer
 * and a closed socket; resets are only logged. The process never crashes on a client.
 */
export function handleClientError(error: Error, socket: Duplex): void {
  const err = error as NodeJS.ErrnoException;
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  sendRawError(socket, status, STATUS_CODES[status] ?? 'Bad Request');
}

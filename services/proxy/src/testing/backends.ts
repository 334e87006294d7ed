/**
 * Real upstream servers for tests. An HTTP backend answers JSON describing what it received; a path containing
 * `/__status/<code>` makes it answer that status, `/__hang` makes it never answer, and `/__reset` makes it cut
 * the connection in the middle of a response.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly backend: string;
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly remotePort: number;
}

export interface Backend {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly server: http.Server;
  close(): Promise<void>;
}

export async function startHttpBackend(name: string): Promise<Backend> {
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url.includes('/__hang')) return;
    if (url.includes('/__reset')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    const status = Number(/\/__status\/(\d{3})/.exec(url)?.[1] ?? 200);
    const seen: SeenRequest = {
      backend: name,
      method: req.method ?? '',
      url,
      headers: req.headers,
      remotePort: req.socket.remotePort ?? 0,
    };
    const body = JSON.stringify(seen);
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json' };
    if (status >= 300 && status < 400) headers.location = '/elsewhere';
    req.resume();
    req.on('end', () => {
      res.writeHead(status, headers);
      res.end(body);
    });
  });
  return listening(name, server);
}

export async function listening(name: string, server: http.Server): Promise<Backend> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A port that nothing listens on: bind, note the port, close. */
export async function unusedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The trivial backend both proxies forward to, run as its own process: `/small` answers 3 bytes, `/big` 1 MiB,
 * and any WebSocket echoes what it gets. Prints `{"port": N}` on stdout once listening.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const SMALL = Buffer.from('ok\n');
const BIG = Buffer.alloc(1024 * 1024, 'x');

const server = http.createServer((req, res) => {
  const body = (req.url ?? '').endsWith('/big') ? BIG : SMALL;
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;

const wss = new WebSocketServer({ server });
wss.on('connection', (socket) => {
  socket.on('message', (data, binary) => socket.send(data, { binary }));
  socket.on('error', () => socket.terminate());
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));

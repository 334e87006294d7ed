/**
 * A minimal WebSocket echo server on node:http and raw RFC 6455 frames (no dependency). It echoes text and
 * binary messages, answers the text message `whoami` with JSON describing the upgrade request, and answers
 * close and ping frames.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { type Backend, listening } from './backends.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export async function startWebSocketBackend(name: string): Promise<Backend> {
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('upgrade required');
  });
  const sockets = new Set<Duplex>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const key = req.headers['sec-websocket-key'] ?? '';
    const accept = createHash('sha1')
      .update(key + GUID)
      .digest('base64');
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    const whoami = JSON.stringify({ backend: name, url: req.url, headers: req.headers });
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (let frame = readFrame(buffered); frame !== undefined; frame = readFrame(buffered)) {
        buffered = buffered.subarray(frame.length);
        if (frame.opcode === 0x8) {
          socket.end(encodeFrame(0x8, frame.payload));
        } else if (frame.opcode === 0x9) {
          socket.write(encodeFrame(0xa, frame.payload));
        } else if (frame.opcode === 0x1 && frame.payload.toString() === 'whoami') {
          socket.write(encodeFrame(0x1, Buffer.from(whoami)));
        } else if (frame.opcode === 0x1 || frame.opcode === 0x2) {
          socket.write(encodeFrame(frame.opcode, frame.payload));
        }
      }
    });
  });
  const backend = await listening(name, server);
  return {
    ...backend,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await backend.close();
    },
  };
}

interface Frame {
  readonly opcode: number;
  readonly payload: Buffer;
  /** Bytes the whole frame took. */
  readonly length: number;
}

function readFrame(data: Buffer): Frame | undefined {
  if (data.length < 2) return undefined;
  const opcode = (data[0] ?? 0) & 0x0f;
  const masked = ((data[1] ?? 0) & 0x80) !== 0;
  let length = (data[1] ?? 0) & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (data.length < 4) return undefined;
    length = data.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (data.length < 10) return undefined;
    length = Number(data.readBigUInt64BE(2));
    offset = 10;
  }
  const maskOffset = offset;
  if (masked) offset += 4;
  if (data.length < offset + length) return undefined;
  const payload = Buffer.from(data.subarray(offset, offset + length));
  if (masked) {
    for (let i = 0; i < payload.length; i++) {
      payload[i] = (payload[i] ?? 0) ^ (data[maskOffset + (i % 4)] ?? 0);
    }
  }
  return { opcode, payload, length: offset + length };
}

function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const header =
    payload.length < 126
      ? Buffer.from([0x80 | opcode, payload.length])
      : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([header, payload]);
}

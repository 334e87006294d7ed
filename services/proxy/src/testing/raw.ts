/** Raw TCP exchanges, for requests no HTTP client would send. */
import net from 'node:net';

/** Send raw bytes to a port and collect everything until the server closes or `timeoutMs` passes. */
export function rawExchange(port: number, payload: string | Buffer, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', done);
    socket.on('close', done);
    socket.write(payload);
  });
}

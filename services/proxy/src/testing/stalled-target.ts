/**
 * A target that accepts no connections: a child process listens with a backlog of 1 and then blocks its event
 * loop. Once the backlog is filled, the kernel drops further SYNs, so a connect() hangs: what a crashed or
 * firewalled host looks like, without depending on how the network treats unroutable addresses.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';

const SCRIPT = `
const server = require('node:net').createServer();
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.stdout.write(server.address().port + '\\n');
  const end = Date.now() + 20000;
  while (Date.now() < end) {}
});
`;

export interface StalledTarget {
  readonly url: string;
  close(): Promise<void>;
}

export async function startStalledTarget(): Promise<StalledTarget> {
  const child = spawn(process.execPath, ['-e', SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  const port = Number(chunk.toString().trim());
  // Fill the accept backlog so the next SYN is dropped.
  const fillers = Array.from({ length: 4 }, () => net.connect(port, '127.0.0.1').on('error', () => {}));
  await new Promise((resolve) => setTimeout(resolve, 100));
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const socket of fillers) socket.destroy();
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The processes under test: the backend, Berth's proxy and configurable-http-proxy, each in its own process. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const TOKEN = randomBytes(24).toString('hex');

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resident set size now, in bytes (Linux). */
  rss(): number;
  /** Open file descriptors now (Linux): sockets included. */
  fds(): number;
  /** CPU seconds (user + system) used so far by the process and its live descendants, e.g. proxy workers (Linux). */
  cpu(): number;
  stop(): Promise<void>;
}

export interface ProxyProc extends Proc {
  readonly url: string;
  readonly apiUrl: string;
}

function proc(name: string, child: ChildProcess): Proc {
  let stderr = '';
  let stopping = false;
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  child.once('exit', (code, signal) => {
    if (!stopping && code !== 0 && signal === null)
      process.stderr.write(`${name} exited ${code}\n${stderr}\n`);
  });
  return {
    name,
    child,
    rss: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    },
    fds: () => readdirSync(`/proc/${child.pid}/fd`).length,
    cpu: () => treeCpuSeconds(child.pid ?? 0),
    stop: () =>
      new Promise((resolve) => {
        stopping = true;
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}

const TICKS_PER_SECOND = 100;

function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  const visit = (p: number) => {
    try {
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
      for (const task of readdirSync(`/proc/${p}/task`)) {
        const children = readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').trim();
        for (const c of children === '' ? [] : children.split(' ')) visit(Number(c));
      }
    } catch {
      // the process exited meanwhile
    }
  };
  visit(pid);
  return ticks / TICKS_PER_SECOND;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function startBackend(): Promise<Proc & { url: string }> {
  const child = spawn(process.execPath, [`${HERE}backend.ts`], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) =>
      resolve((JSON.parse(chunk.toString()) as { port: number }).port),
    );
    child.once('exit', (code) => reject(new Error(`backend exited ${code}`)));
  });
  return { ...proc('backend', child), url: `http://127.0.0.1:${port}` };
}

export async function startBerth(workers = 1): Promise<ProxyProc> {
  const [port, apiPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [`${REPO}services/proxy/src/main.ts`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH,
      CONFIGPROXY_AUTH_TOKEN: TOKEN,
      BERTH_PROXY_HOST: '127.0.0.1',
      BERTH_PROXY_PORT: String(port),
      BERTH_PROXY_API_HOST: '127.0.0.1',
      BERTH_PROXY_API_PORT: String(apiPort),
      BERTH_PROXY_METRICS_HOST: '127.0.0.1',
      BERTH_PROXY_METRICS_PORT: String(metricsPort),
      BERTH_PROXY_LOG_LEVEL: 'warn',
      BERTH_PROXY_WORKERS: String(workers),
    },
  });
  return ready({
    ...proc('berth', child),
    url: `http://127.0.0.1:${port}`,
    apiUrl: `http://127.0.0.1:${apiPort}`,
  });
}

export async function startChp(): Promise<ProxyProc> {
  const [port, apiPort] = [await freePort(), await freePort()];
  const bin = `${HERE}node_modules/configurable-http-proxy/bin/configurable-http-proxy`;
  const args = [
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--api-ip',
    '127.0.0.1',
    '--api-port',
    String(apiPort),
  ];
  const child = spawn(process.execPath, [bin, ...args, '--log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH, CONFIGPROXY_AUTH_TOKEN: TOKEN },
  });
  return ready({
    ...proc('chp', child),
    url: `http://127.0.0.1:${port}`,
    apiUrl: `http://127.0.0.1:${apiPort}`,
  });
}

async function ready(p: ProxyProc): Promise<ProxyProc> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const status = await apiCall(p, 'GET', '/api/routes').catch(() => 0);
    if (status === 200) return p;
    if (p.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await p.stop();
  throw new Error(`${p.name} did not start`);
}

const apiAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** One REST API call with the token; resolves with the status. */
export function apiCall(p: ProxyProc, method: string, path: string, body?: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(`${p.apiUrl}${path}`, {
      method,
      agent: apiAgent,
      headers: {
        authorization: `token ${TOKEN}`,
        ...(payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {}),
      },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.end(payload);
  });
}

/** Add `count` routes `/user/u<from>…` through the API, 16 requests in flight; resolves with the seconds taken. */
export async function addRoutes(p: ProxyProc, from: number, count: number, target: string): Promise<number> {
  const started = performance.now();
  let next = from;
  const end = from + count;
  const worker = async () => {
    while (next < end) {
      const i = next++;
      const status = await apiCall(p, 'POST', `/api/routes/user/u${i}`, { target, user: `u${i}` });
      if (status !== 201) throw new Error(`${p.name}: adding route ${i} answered ${status}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return (performance.now() - started) / 1000;
}

export function closeApiAgent(): void {
  apiAgent.destroy();
}

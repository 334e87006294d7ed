/** The two hubs under test, each in its own process: Berth (node) and JupyterHub 6.1 (berth/pytools). */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { prebuild } from './prebuild.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const PYTOOLS_IMAGE = process.env.BERTH_PYTOOLS_IMAGE ?? 'berth/pytools:6.1';
export const POSTGRES_IMAGE = process.env.BERTH_TEST_POSTGRES_IMAGE ?? 'berth/postgres:15';

export interface Hub {
  readonly name: string;
  /** Base of the REST API, e.g. http://127.0.0.1:8081/hub/api */
  readonly api: string;
  readonly adminToken: string;
  readonly userToken: string;
  /** Resident set size of the hub process now, in bytes. */
  rss(): number;
  /** CPU time (user + system) the hub process has used so far, in ms (its database's own CPU not included). */
  cpuMs(): number;
  stop(): Promise<void>;
  /** Seed users bench-00001… directly, when the REST API is too slow to do it in a benchmark's time. */
  seed?(n: number): Promise<void>;
}

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const secret = () => randomBytes(24).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

function cpuMsOf(pid: number): number {
  // /proc/<pid>/stat: fields after the command's closing parenthesis; utime and stime are the 14th and 15th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

async function waitFor(what: string, ok: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ok().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`${what} did not come up in ${ms} ms`);
}

/** A throwaway Postgres for Berth, on a loopback port. */
async function startPostgres(): Promise<{ url: string; stop(): void }> {
  const password = secret();
  const id = docker(
    'run',
    '-d',
    '--rm',
    '-p',
    '127.0.0.1::5432',
    '-e',
    'POSTGRES_USER=berth',
    '-e',
    `POSTGRES_PASSWORD=${password}`,
    '-e',
    'POSTGRES_DB=berth',
    '--label',
    'org.berth.bench=api',
    POSTGRES_IMAGE,
  );
  const stop = () => {
    try {
      docker('rm', '-f', id);
    } catch {}
  };
  try {
    await waitFor('postgres', async () => {
      execFileSync('docker', ['exec', id, 'pg_isready', '-h', '127.0.0.1', '-U', 'berth', '-d', 'berth'], {
        stdio: 'ignore',
      });
      return true;
    });
    const port = docker('port', id, '5432/tcp').split('\n')[0]?.split(':').pop();
    return { url: `postgres://berth:${password}@127.0.0.1:${port}/berth`, stop };
  } catch (e) {
    stop();
    throw e;
  }
}

export async function startBerth(): Promise<Hub> {
  const pg = await startPostgres();
  const adminToken = secret();
  const userToken = secret();
  const entry = process.env.BENCH_BERTH_TS === '1' ? `${HERE}berth-hub.ts` : prebuild();
  const child: ChildProcess = spawn(
    process.execPath,
    // The hub image's node flags (Dockerfile), unless BENCH_NODE_ARGS says otherwise.
    [
      ...(process.env.BENCH_NODE_ARGS ?? '--max-semi-space-size=2 --heap-growing-percent=30')
        .split(' ')
        .filter(Boolean),
      entry,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        // The hub image's environment (Dockerfile), unless told otherwise.
        MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
        BENCH_DATABASE_URL: pg.url,
        BENCH_ADMIN_TOKEN: adminToken,
        BENCH_USER_TOKEN: userToken,
      },
    },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (c: Buffer) => resolve((JSON.parse(c.toString()) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`berth hub exited ${code}\n${stderr}`)));
  });
  return {
    name: 'berth',
    api: `http://127.0.0.1:${port}/hub/api`,
    adminToken,
    userToken,
    rss: () => rssOf(child.pid as number),
    cpuMs: () => cpuMsOf(child.pid as number),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
        await exited;
      }
      pg.stop();
    },
  };
}

export async function startJupyterHub(): Promise<Hub> {
  const [publicPort, hubPort] = [await freePort(), await freePort()];
  const adminToken = secret();
  const name = `berth-bench-jupyterhub-${randomBytes(3).toString('hex')}`;
  docker(
    'run',
    '-d',
    '--rm',
    '--name',
    name,
    '--network',
    'host',
    '--label',
    'org.berth.bench=api',
    '-v',
    `${HERE}jupyterhub_config.py:/etc/bench/jupyterhub_config.py:ro`,
    '-v',
    `${HERE}seed_jupyterhub.py:/etc/bench/seed_jupyterhub.py:ro`,
    '-e',
    `BENCH_PUBLIC_PORT=${publicPort}`,
    '-e',
    `BENCH_HUB_PORT=${hubPort}`,
    '-e',
    `BENCH_ADMIN_TOKEN=${adminToken}`,
    PYTOOLS_IMAGE,
    'jupyterhub',
    '-f',
    '/etc/bench/jupyterhub_config.py',
  );
  const stop = async () => {
    try {
      docker('rm', '-f', name);
    } catch {}
  };
  const api = `http://127.0.0.1:${hubPort}/hub/api`;
  try {
    await waitFor('jupyterhub', async () => (await fetch(`${api}/`)).ok, 120_000);
    const auth = { authorization: `token ${adminToken}` };
    const created = await fetch(`${api}/users/alice`, { method: 'POST', headers: auth });
    if (created.status !== 201)
      throw new Error(`jupyterhub: create alice: ${created.status} ${await created.text()}`);
    const t = await fetch(`${api}/users/alice/tokens`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ note: 'bench' }),
    });
    const userToken = ((await t.json()) as { token: string }).token;
    // tini is the container's PID 1; the hub is its only child.
    const tini = Number(docker('inspect', '-f', '{{.State.Pid}}', name));
    const hubPid = Number(readFileSync(`/proc/${tini}/task/${tini}/children`, 'utf8').trim().split(/\s+/)[0]);
    const seed = async (n: number) => {
      docker(
        'exec',
        name,
        'python',
        '/etc/bench/seed_jupyterhub.py',
        'sqlite:////tmp/jupyterhub.sqlite',
        String(n),
      );
    };
    return {
      name: 'jupyterhub',
      api,
      adminToken,
      userToken,
      rss: () => rssOf(hubPid),
      cpuMs: () => cpuMsOf(hubPid),
      stop,
      seed,
    };
  } catch (e) {
    const logs = (() => {
      try {
        return execFileSync('docker', ['logs', '--tail', '40', name], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch {
        return '';
      }
    })();
    await stop();
    throw new Error(`${(e as Error).message}\n${logs}`);
  }
}

/** Create `n` users named bench-00001… through the REST API, 1000 per request, on either hub. */
export async function seedUsers(hub: Hub, n: number): Promise<number> {
  const started = performance.now();
  if (hub.seed) {
    await hub.seed(n);
    return (performance.now() - started) / 1000;
  }
  for (let i = 0; i < n; i += 1000) {
    const usernames = Array.from(
      { length: Math.min(1000, n - i) },
      (_, k) => `bench-${String(i + k + 1).padStart(5, '0')}`,
    );
    const r = await fetch(`${hub.api}/users`, {
      method: 'POST',
      headers: { authorization: `token ${hub.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ usernames }),
    });
    if (r.status !== 201) throw new Error(`${hub.name}: create users: ${r.status} ${await r.text()}`);
  }
  return (performance.now() - started) / 1000;
}

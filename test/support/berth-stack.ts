/**
 * Berth deployed as a Swarm stack on a test swarm (test/support/swarm.ts), as docs/swarm.md tells an admin:
 * `berth stack-file` in the hub image writes the secrets and the stack file into a checkout, Docker 20.10's CLI
 * on the first manager deploys it, and the edge is Caddy on whichever node runs it (`https://localhost`
 * resolved to that node, trusting that Caddy's own CA). Used by test/swarm/stack*.test.ts.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { REPO_ROOT } from './compose.ts';
import { run, runOk } from './exec.ts';
import type { SwarmNode, TestSwarm } from './swarm.ts';

const env = process.env;
export const STACK = 'berth';
/** The images of this tree (.env names them), and the server image. */
export const STACK_IMAGES = {
  hub: env.BERTH_HUB_IMAGE ?? 'berth/hub:dev',
  proxy: env.BERTH_PROXY_IMAGE ?? 'berth/proxy:dev',
  guard: env.BERTH_DOCKER_GUARD_IMAGE ?? 'berth/docker-guard:dev',
  postgres: env.BERTH_POSTGRES_IMAGE ?? 'berth/postgres:15',
  caddy: env.BERTH_CADDY_IMAGE ?? 'berth/caddy:2',
  singleuser: env.BERTH_SINGLEUSER_IMAGE ?? 'berth/singleuser:lab',
};
/** What a manager runs (a worker needs only the servers' image). */
export const MANAGER_IMAGES = [
  STACK_IMAGES.hub,
  STACK_IMAGES.proxy,
  STACK_IMAGES.guard,
  STACK_IMAGES.postgres,
  STACK_IMAGES.caddy,
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = String((err as Error).cause ?? err);
    }
    await sleep(1000);
  }
  throw new Error(`${what}: not within ${ms} ms ${last}`);
}

/** Fails, with the kit command, when an image is missing (a test must not pass by skipping). */
export async function requireStackImages(): Promise<void> {
  for (const image of Object.values(STACK_IMAGES)) {
    const r = await run('docker', ['image', 'inspect', image]);
    assert.equal(r.code, 0, `${image} is missing: set -a; . ./.env; set +a; bash images/build-offline.sh`);
  }
}

/** A checkout with the two files and the Caddyfile, then `berth stack-file` run in it: its directory. */
export async function generateStack(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-stack-'));
  try {
    for (const f of ['docker-compose.yml', 'docker-stack.yml', 'config/Caddyfile'])
      cpSync(join(REPO_ROOT, f), join(dir, f), { recursive: true });
    const generated = await runOk('docker', [
      'run',
      '--rm',
      '--network',
      'none',
      '--user',
      '0:0',
      '-v',
      `${dir}:/berth`,
      '-w',
      '/berth',
      STACK_IMAGES.hub,
      'berth',
      'stack-file',
    ]);
    writeFileSync(join(dir, 'berth-stack.yml'), generated.stdout);
    return dir;
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** `docker stack deploy` with Docker 20.10's CLI on the first manager, the checkout copied there. */
export async function deployStack(swarm: TestSwarm, dir: string, extraEnv: Record<string, string> = {}) {
  const manager = swarm.manager.name;
  await runOk('docker', ['cp', dir, `${manager}:/berth`]);
  const gid = (await runOk('docker', ['exec', manager, 'getent', 'group', 'docker'])).stdout.split(':')[2];
  const deployEnv = {
    BERTH_HUB_IMAGE: STACK_IMAGES.hub,
    BERTH_PROXY_IMAGE: STACK_IMAGES.proxy,
    BERTH_DOCKER_GUARD_IMAGE: STACK_IMAGES.guard,
    BERTH_POSTGRES_IMAGE: STACK_IMAGES.postgres,
    BERTH_CADDY_IMAGE: STACK_IMAGES.caddy,
    BERTH_SINGLEUSER_IMAGE: STACK_IMAGES.singleuser,
    DOCKER_GID: String(gid).trim(),
    ...extraEnv,
  };
  // The images are the nodes' own (no registry to resolve digests with).
  await runOk('docker', [
    'exec',
    ...Object.entries(deployEnv).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    '-w',
    '/berth',
    manager,
    'docker',
    'stack',
    'deploy',
    '--resolve-image',
    'never',
    '-c',
    'berth-stack.yml',
    STACK,
  ]);
}

/** The docker CLI on the first manager's engine. */
export function onManager(swarm: TestSwarm, args: readonly string[], input?: string) {
  return run('docker', ['-H', swarm.manager.host, ...args], input === undefined ? {} : { input });
}

/** The nodes the running tasks of a service are on. */
export async function taskNodes(swarm: TestSwarm, service: string): Promise<string[]> {
  const tasks = (await swarm.manager.docker.listTasks({
    filters: JSON.stringify({ service: [service], 'desired-state': ['running'] }),
  })) as { NodeID: string; Status: { State: string } }[];
  return tasks.filter((t) => t.Status.State === 'running').map((t) => t.NodeID);
}

/** The running container of a stack service, on whichever node runs it: that node and the container's id. */
export async function serviceContainer(
  swarm: TestSwarm,
  service: string,
): Promise<{ node: SwarmNode; id: string }> {
  return until(`a running task of ${service}`, 180_000, async () => {
    for (const node of swarm.nodes) {
      const r = await run('docker', [
        '-H',
        node.host,
        'ps',
        '-q',
        '--filter',
        `label=com.docker.swarm.service.name=${STACK}_${service}`,
      ]);
      const id = r.code === 0 ? r.stdout.trim().split('\n')[0] : undefined;
      if (id) return { node, id };
    }
    return undefined;
  });
}

/** Service states and recent logs, for a failure message. */
export async function diagnostics(swarm: TestSwarm): Promise<string> {
  const out: string[] = [];
  for (const s of ['hub', 'proxy', 'postgres', 'docker-guard', 'caddy']) {
    const ps = await onManager(swarm, ['service', 'ps', '--no-trunc', `${STACK}_${s}`]);
    const logs = await onManager(swarm, ['service', 'logs', '--tail', '30', `${STACK}_${s}`]);
    out.push(`== ${s}\n${ps.stdout}${ps.stderr}\n${logs.stdout}${logs.stderr}`);
  }
  return out.join('\n');
}

/**
 * https://localhost as a browser on this machine sees it: Caddy on the node that runs it (published there,
 * `mode: host`), trusted by the CA of that Caddy (its data volume is the node's).
 */
export class StackEdge {
  readonly base = 'https://localhost';
  readonly swarm: TestSwarm;
  #agent: Agent | undefined;
  constructor(swarm: TestSwarm) {
    this.swarm = swarm;
  }

  get agent(): Agent {
    if (!this.#agent) throw new Error('edge not found yet');
    return this.#agent;
  }

  /** Finds Caddy (again, e.g. after it moved to another node) and waits until the hub answers through it. */
  async find(timeoutMs = 300_000): Promise<SwarmNode> {
    const caddy = await serviceContainer(this.swarm, 'caddy');
    const ca = await until("Caddy's internal CA", 120_000, async () => {
      const r = await run('docker', [
        '-H',
        caddy.node.host,
        'exec',
        caddy.id,
        'cat',
        '/data/caddy/pki/authorities/local/root.crt',
      ]);
      return r.code === 0 && r.stdout.includes('BEGIN CERTIFICATE') ? r.stdout : undefined;
    });
    const address = caddy.node.address;
    const lookup = ((_host: string, options: { all?: boolean }, cb: (...a: unknown[]) => void) =>
      options?.all ? cb(null, [{ address, family: 4 }]) : cb(null, address, 4)) as unknown as LookupFunction;
    await this.#agent?.close();
    this.#agent = new Agent({ connect: { ca, lookup } });
    await until('the hub answers through the edge', timeoutMs, async () =>
      (await this.fetch('/hub/health')).ok ? true : undefined,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await diagnostics(this.swarm)}`);
    });
    return caddy.node;
  }

  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    return undiciFetch(`${this.base}${path}`, {
      ...(init as object),
      dispatcher: this.agent,
    }) as unknown as Promise<Response>;
  }

  async close(): Promise<void> {
    await this.#agent?.close();
  }
}

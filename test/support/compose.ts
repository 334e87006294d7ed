import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Agent, fetch as undiciFetch } from 'undici';
import { run, runOk } from './exec.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `docker compose` (v2) when the plugin is there, else Debian's `docker-compose` v1. */
async function composeCommand(): Promise<[string, string[]]> {
  const v2 = await run('docker', ['compose', 'version']).catch(() => undefined);
  return v2?.code === 0 ? ['docker', ['compose']] : ['docker-compose', []];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A whole Berth deployment from docker-compose.yml, isolated by project name, ports and network. */
export class ComposeStack {
  readonly project: string;
  readonly env: NodeJS.ProcessEnv;
  readonly httpsPort: number;
  readonly httpPort: number;
  #cmd: [string, string[]] | undefined;
  #fetch: typeof fetch | undefined;
  #agent: Agent | undefined;

  private constructor(
    project: string,
    httpsPort: number,
    httpPort: number,
    extraEnv: Record<string, string>,
  ) {
    this.project = project;
    this.httpsPort = httpsPort;
    this.httpPort = httpPort;
    this.env = {
      ...process.env,
      COMPOSE_PROJECT_NAME: project,
      BERTH_HTTPS_PORT: String(httpsPort),
      BERTH_HTTP_PORT: String(httpPort),
      BERTH_PUBLIC_URL: `https://localhost:${httpsPort}`,
      BERTH_USERS_NETWORK: `${project}-users`,
      BERTH_DEPLOYMENT_ID: project,
      BERTH_CONTAINER_PREFIX: project,
      ...extraEnv,
    };
  }

  static async create(extraEnv: Record<string, string> = {}): Promise<ComposeStack> {
    const project = `berthe2e${randomBytes(3).toString('hex')}`;
    return new ComposeStack(project, await freePort(), await freePort(), extraEnv);
  }

  get base(): string {
    return `https://localhost:${this.httpsPort}`;
  }

  async compose(args: readonly string[], input?: string) {
    this.#cmd ??= await composeCommand();
    const [cmd, pre] = this.#cmd;
    return run(cmd, [...pre, '-p', this.project, ...args], {
      env: this.env,
      cwd: REPO_ROOT,
      ...(input !== undefined ? { input } : {}),
    });
  }

  async composeOk(args: readonly string[], input?: string) {
    const r = await this.compose(args, input);
    if (r.code !== 0) throw new Error(`compose ${args.join(' ')} exited ${r.code}\n${r.stderr}\n${r.stdout}`);
    return r;
  }

  async up(): Promise<void> {
    await this.composeOk(['up', '-d', '--no-build']);
    await this.waitHealthy('hub', 180_000);
    // Trust Caddy's internal CA, as a browser whose admin installed it would.
    const ca = await this.waitForCaddyRoot(60_000);
    const agent = new Agent({ connect: { ca } });
    this.#agent = agent;
    this.#fetch = ((url: string | URL | Request, init?: RequestInit) =>
      undiciFetch(url as string, { ...(init as object), dispatcher: agent })) as unknown as typeof fetch;
    await this.waitForEdge(60_000);
  }

  /** An undici dispatcher that trusts this stack's TLS certificate (for BrowserClient). */
  get dispatcher(): Agent {
    if (!this.#agent) throw new Error('stack not up');
    return this.#agent;
  }

  /** fetch that trusts this stack's TLS certificate. */
  get fetch(): typeof fetch {
    if (!this.#fetch) throw new Error('stack not up');
    return this.#fetch;
  }

  async containerId(service: string): Promise<string> {
    const r = await this.composeOk(['ps', '-q', service]);
    return r.stdout.trim();
  }

  async waitHealthy(service: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const id = await this.containerId(service).catch(() => '');
      if (id) {
        const r = await run('docker', ['inspect', '-f', '{{.State.Health.Status}}', id]);
        last = r.stdout.trim();
        if (last === 'healthy') return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    const logs = await this.compose(['logs', '--tail', '50']);
    throw new Error(`${service} not healthy (${last}) after ${timeoutMs} ms\n${logs.stdout}${logs.stderr}`);
  }

  async waitForCaddyRoot(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const r = await this.compose([
        'exec',
        '-T',
        'caddy',
        'cat',
        '/data/caddy/pki/authorities/local/root.crt',
      ]);
      if (r.code === 0 && r.stdout.includes('BEGIN CERTIFICATE')) return r.stdout;
      await new Promise((res) => setTimeout(res, 500));
    }
    throw new Error('caddy never created its internal CA');
  }

  async waitForEdge(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let err = '';
    while (Date.now() < deadline) {
      try {
        const r = await this.fetch(`${this.base}/hub/health`);
        if (r.ok) return;
        err = `status ${r.status}`;
      } catch (e) {
        err = String((e as Error).cause ?? e);
      }
      await new Promise((res) => setTimeout(res, 500));
    }
    throw new Error(`https edge never answered: ${err}`);
  }

  /** Run the `berth` admin CLI inside the hub container. */
  berth(args: readonly string[], input?: string) {
    return this.compose(['exec', '-T', 'hub', 'berth', ...args], input);
  }

  /** Containers the hub spawned for this deployment. */
  async userContainers(all = true): Promise<string[]> {
    const r = await runOk('docker', [
      'ps',
      ...(all ? ['-a'] : []),
      '-q',
      '--filter',
      `label=org.berth.deployment=${this.project}`,
    ]);
    return r.stdout.split('\n').filter(Boolean);
  }

  /** Tear everything down, including user containers and volumes the hub made. */
  async down(): Promise<void> {
    await this.#agent?.close();
    for (const id of await this.userContainers().catch(() => [])) await run('docker', ['rm', '-f', id]);
    await this.compose(['down', '-v', '--remove-orphans', '-t', '5']);
    const vols = await run('docker', [
      'volume',
      'ls',
      '-q',
      '--filter',
      `label=org.berth.deployment=${this.project}`,
    ]);
    for (const v of vols.stdout.split('\n').filter(Boolean)) await run('docker', ['volume', 'rm', '-f', v]);
    await run('docker', ['network', 'rm', `${this.project}-users`]);
    // Per-server networks the hub made (their containers are gone by now).
    const nets = await run('docker', [
      'network',
      'ls',
      '-q',
      '--filter',
      `label=org.berth.deployment=${this.project}`,
    ]);
    for (const n of nets.stdout.split('\n').filter(Boolean)) await run('docker', ['network', 'rm', n]);
  }
}

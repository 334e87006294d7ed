import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunResult, run } from './exec.ts';

/** The offline kit's Python tools image: JupyterHub 6.1, jupyterhub-idle-culler, schemathesis. */
export const PYTOOLS_IMAGE = process.env.BERTH_PYTOOLS_IMAGE ?? 'berth/pytools:6.1';

/**
 * Runs PyPI's own clients, unchanged, in the tools image on the host network, so they reach a stack's HTTPS edge
 * at https://localhost:<port> and trust only its CA (SSL_CERT_FILE).
 */
export class PyTools {
  readonly #dir: string;
  readonly #caFile: string;

  constructor(caPem: string) {
    this.#dir = mkdtempSync(join(tmpdir(), 'berth-pytools-'));
    this.#caFile = join(this.#dir, 'ca.pem');
    writeFileSync(this.#caFile, caPem, { mode: 0o644 });
  }

  #args(env: Record<string, string>, name?: string): string[] {
    const args = ['run', '--rm', '--network', 'host', '-v', `${this.#caFile}:/ca.pem:ro`];
    args.push('-e', 'SSL_CERT_FILE=/ca.pem', '-e', 'REQUESTS_CA_BUNDLE=/ca.pem');
    for (const [k, v] of Object.entries(env)) args.push('-e', `${k}=${v}`);
    if (name) args.push('--name', name);
    return args;
  }

  /** Run a command to completion. */
  run(cmd: readonly string[], env: Record<string, string> = {}, timeoutMs = 300_000): Promise<RunResult> {
    return run('docker', [...this.#args(env), PYTOOLS_IMAGE, ...cmd], { timeoutMs });
  }

  /** Start a long-running command in a named container; `stop` ends it and returns its logs. */
  async start(name: string, cmd: readonly string[], env: Record<string, string> = {}) {
    const args = this.#args(env, name).filter((a) => a !== '--rm');
    const r = await run('docker', [...args, '-d', PYTOOLS_IMAGE, ...cmd]);
    if (r.code !== 0) throw new Error(`docker run ${name}: ${r.stderr}`);
    return {
      logs: async () => {
        const l = await run('docker', ['logs', name]);
        return l.stdout + l.stderr;
      },
      stop: async () => {
        const l = await run('docker', ['logs', name]);
        await run('docker', ['rm', '-f', name]);
        return l.stdout + l.stderr;
      },
    };
  }

  close(): void {
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

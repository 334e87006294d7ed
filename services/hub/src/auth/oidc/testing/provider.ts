import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestCa, type TestCa } from './test-ca.ts';

export interface TestClient {
  readonly client_id: string;
  readonly client_secret: string;
  readonly redirect_uris: readonly string[];
  readonly post_logout_redirect_uris?: readonly string[];
}

export interface TestProvider {
  readonly issuer: string;
  readonly ca: TestCa;
  /** Replace the accounts (read by the provider at each login). */
  setAccounts(accounts: Record<string, { groups: string[] }>): void;
  stop(): Promise<void>;
}

/** Start oidc-provider in its own process over https with a fresh test CA. */
export async function startTestProvider(
  clients: readonly TestClient[],
  accounts: Record<string, { groups: string[] }>,
): Promise<TestProvider> {
  const ca = makeTestCa();
  const accountsFile = join(ca.dir, 'accounts.json');
  const setAccounts = (a: Record<string, { groups: string[] }>) =>
    writeFileSync(accountsFile, JSON.stringify(a));
  setAccounts(accounts);
  const child: ChildProcess = spawn(process.execPath, [join(import.meta.dirname, 'provider-main.ts')], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      BERTH_OP_CERT: ca.certFile,
      BERTH_OP_KEY: ca.keyFile,
      BERTH_OP_ACCOUNTS: accountsFile,
      BERTH_OP_CLIENTS: JSON.stringify(
        clients.map((c) => ({
          ...c,
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
        })),
      ),
    },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('oidc-provider did not start in 20 s')), 20_000);
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /listening (\d+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`oidc-provider exited with ${code}`)));
  });
  return {
    issuer: `https://127.0.0.1:${port}`,
    ca,
    setAccounts,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { BrowserClient, type ClientResponse } from '../../../testing/browser-client.ts';
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

/**
 * Sign in at the provider as `user` the way a browser does (its dev login form, then consent), starting from an
 * authorization URL; returns the query string the provider sends to `callback`.
 */
export async function signInAtProvider(
  op: Pick<TestProvider, 'issuer'>,
  dispatcher: Dispatcher,
  authUrl: string,
  user: string,
  callback: string,
): Promise<string> {
  const idp = new BrowserClient(op.issuer, dispatcher);
  let res: ClientResponse = await idp.request('GET', authUrl);
  for (let i = 0; i < 20; i++) {
    if (res.status >= 300 && res.status < 400) {
      const loc = new URL(res.headers.get('location') ?? '', res.url).href;
      if (loc.startsWith(callback)) return new URL(loc).search;
      res = await idp.request('GET', loc);
      continue;
    }
    const action = /<form[^>]*action="([^"]+)"/.exec(res.body)?.[1];
    if (!action) throw new Error(`no form at the IdP (${res.status}): ${res.body.slice(0, 300)}`);
    const fields: Record<string, string> = res.body.includes('name="login"')
      ? { prompt: 'login', login: user, password: 'any' }
      : { prompt: 'consent' };
    res = await idp.postForm(new URL(action, res.url).href, fields, false);
  }
  throw new Error('the IdP never sent the browser back');
}

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BrowserClient,
  type ClientResponse,
  login,
  xsrfFrom,
} from '../../services/hub/src/testing/browser-client.ts';
import { ComposeStack } from '../support/compose.ts';

/**
 * The proxy keeps its routes in memory only. After it restarts, the hub must notice (the proxy's epoch changes)
 * and add every running server's route again: alice's server answers within 5 s of the proxy answering its health
 * check, and a browser that arrives in between is never sent round a redirect loop.
 */
describe('proxy restart: routes heal within seconds', { timeout: 900_000 }, () => {
  let stack: ComposeStack;
  let alice: BrowserClient;

  before(async () => {
    stack = await ComposeStack.create();
    await stack.up();
    const r = await stack.berth(['user', 'add', 'alice', '--password-stdin'], 'alice-has-a-long-password\n');
    assert.equal(r.code, 0, r.stderr);
    alice = new BrowserClient(stack.base, stack.dispatcher);
  });

  after(async () => {
    if (stack && process.env.BERTH_E2E_KEEP !== '1') await stack.down();
  });

  /** A call JupyterLab would make: CORS-mode fetch with the server's XSRF cookie echoed in a header. */
  function status(): Promise<ClientResponse> {
    return alice.request('GET', '/user/alice/api/status', {
      headers: { 'sec-fetch-mode': 'cors', 'x-xsrftoken': decodeURIComponent(alice.cookie('_xsrf') ?? '') },
    });
  }

  async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const value = await probe();
        if (value !== undefined) return value;
      } catch (err) {
        last = err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${what} not reached in ${timeoutMs} ms (${String(last ?? '')})`);
  }

  it("starts alice's server and reaches it through the proxy", async () => {
    assert.equal((await login(alice, 'alice', 'alice-has-a-long-password')).status, 200);
    const home = await alice.get('/hub/home');
    let last = await alice.postForm('/hub/spawn', { _xsrf: xsrfFrom(home.body) });
    const atLab = (r: ClientResponse) =>
      r.hops.some((u) => new URL(u).pathname.startsWith('/user/alice/lab'));
    for (let i = 0; i < 120 && !atLab(last); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      last = await alice.get('/hub/spawn-pending/alice');
    }
    assert.equal(last.status, 200, `landed at ${last.url}`);
    assert.equal((await status()).status, 200);
  });

  it('answers /user/alice/api/status within 5 s of the restarted proxy answering health', async (t) => {
    const before = await stack.containerId('proxy');
    // `restart` stops the proxy (SIGTERM) and starts the same container again: its route table is empty.
    await stack.composeOk(['restart', '-t', '5', 'proxy']);
    await until('proxy health', 60_000, async () => {
      const r = await stack.fetch(`${stack.base}/_chp_healthz`);
      return r.status === 200 && ((await r.json()) as { status: string }).status === 'OK' ? true : undefined;
    });
    const healthyAt = Date.now();
    assert.equal(await stack.containerId('proxy'), before);
    const seen: number[] = [];
    const ok = await until('alice reachable', 20_000, async () => {
      const r = await status();
      seen.push(r.status);
      return r.status === 200 ? r : undefined;
    });
    const healedMs = Date.now() - healthyAt;
    t.diagnostic(`healed ${healedMs} ms after the proxy answered health; statuses: ${seen.join(',')}`);
    const logs = await stack.compose(['logs', '--timestamps', '--since', '2m', 'hub']);
    for (const l of logs.stdout
      .split('\n')
      .filter((l) => /proxy|route/.test(l))
      .slice(-6))
      t.diagnostic(l);
    assert.ok(JSON.parse(ok.body).started, 'jupyter_server answered');
    assert.ok(healedMs <= 5_000, `healed after ${healedMs} ms; statuses seen: ${seen.join(',')}`);
    // Before healing, only the hub's JSON 503 for a server whose route is missing; never a redirect.
    assert.ok(
      seen.every((s) => s === 200 || s === 503),
      `statuses seen: ${seen.join(',')}`,
    );
  });

  // The hub's session cookie is scoped to /hub/, so the hub sends /user/… that reaches it to /hub/user/…, where
  // it sees the cookie, heals the route and sends the browser back, counting the round trips.
  it('sends a browser that arrives right after a restart to JupyterLab, without a redirect loop', async (t) => {
    await stack.composeOk(['restart', '-t', '5', 'proxy']);
    await until('proxy health', 60_000, async () =>
      (await stack.fetch(`${stack.base}/_chp_healthz`)).status === 200 ? true : undefined,
    );
    // At once, before the hub's probe (1 s) has necessarily run: the hub's fallback must not bounce us around.
    const healthyAt = Date.now();
    const lab = await alice.get('/user/alice/lab');
    const paths = lab.hops.map((u) => new URL(u).pathname);
    t.diagnostic(`${paths.length} hops in ${Date.now() - healthyAt} ms: ${paths.join(' → ')}`);
    await until('alice reachable', 20_000, async () => ((await status()).status === 200 ? true : undefined));
    t.diagnostic(`alice's API answered ${Date.now() - healthyAt} ms after health`);
    const logs = await stack.compose(['logs', '--timestamps', '--since', '1m', 'hub']);
    for (const l of logs.stdout
      .split('\n')
      .filter((l) => /proxy|route/.test(l))
      .slice(-6))
      t.diagnostic(l);
    assert.equal(lab.status, 200, `ended ${lab.status} at ${lab.url}: ${paths.join(' → ')}`);
    assert.match(lab.body, /JupyterLab|jupyter-config-data/);
    const counts = new Map<string, number>();
    for (const p of paths) counts.set(p, (counts.get(p) ?? 0) + 1);
    assert.ok(
      [...counts.values()].every((n) => n <= 2),
      `a path repeated: ${paths.join(' → ')}`,
    );
    assert.ok(paths.length <= 6, `too many hops: ${paths.join(' → ')}`);
  });
});

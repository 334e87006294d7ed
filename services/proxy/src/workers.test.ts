import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { EPOCH_HEADER } from './api.ts';
import { type Backend, type SeenRequest, startHttpBackend } from './testing/backends.ts';
import { startTestProxy, type TestProxy } from './testing/harness.ts';
import { waitFor } from './testing/wait.ts';

/** The pid (among `pids`) that owns the local TCP port `port` (Linux /proc): which worker's agent sent a request. */
function ownerOf(port: number, pids: readonly number[]): number | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(`:${hex}`) && cols[9] !== undefined) inodes.add(cols[9]);
    }
  }
  for (const pid of pids) {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let link = '';
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode !== undefined && inodes.has(inode)) return pid;
    }
  }
  return undefined;
}

const workerPids = () =>
  Object.values(cluster.workers ?? {})
    .filter((w) => w !== undefined && !w.isDead())
    .map((w) => w?.process.pid as number);

describe('worker mode (BERTH_PROXY_WORKERS=2)', () => {
  let backend: Backend;
  let t: TestProxy;
  before(async () => {
    backend = await startHttpBackend('b');
    t = await startTestProxy({ workers: 2 });
  });
  after(async () => {
    await t?.close();
    await backend?.close();
  });

  /** Requests on fresh connections until every worker has served one; resolves with who served what. */
  async function hitEveryWorker(path: string): Promise<Map<number, number>> {
    const served = new Map<number, number>();
    for (let i = 0; i < 40 && served.size < workerPids().length; i++) {
      const res = await t.get(path);
      assert.equal(res.status, 200, `request ${i}`);
      const seen = res.json() as SeenRequest;
      const pid = ownerOf(seen.remotePort, workerPids());
      assert.notEqual(pid, undefined, 'a worker sent the request upstream');
      served.set(pid as number, (served.get(pid as number) ?? 0) + 1);
    }
    return served;
  }

  it('serves a route added through the API from every worker as soon as the API answers', async () => {
    assert.equal(workerPids().length, 2);
    assert.ok(!workerPids().includes(process.pid), 'the primary serves no public requests');
    await t.addRoute('/user/alice', backend.url, { user: 'alice' });
    const served = await hitEveryWorker('/user/alice/api/status');
    assert.deepEqual([...served.keys()].sort(), workerPids().sort(), 'every worker served the new route');
    assert.equal((await t.api('DELETE', '/api/routes/user/alice')).status, 204);
    for (let i = 0; i < 6; i++)
      assert.equal((await t.get('/user/alice/x')).status, 404, 'removed from every worker');
  });

  it("merges every worker's activity into GET /api/routes", async () => {
    await t.addRoute('/user/bob', backend.url);
    await t.addRoute('/user/idle', backend.url);
    const added = await t.lastActivity('/user/bob');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = Date.now();
    const served = await hitEveryWorker('/user/bob/lab');
    assert.equal(served.size, 2);
    const routes = (await t.api('GET', '/api/routes')).json() as Record<string, { last_activity: string }>;
    const bob = Date.parse(routes['/user/bob']?.last_activity ?? '');
    assert.ok(bob >= before && bob > added, 'the workers stamped bob, the primary reports it');
    const inactive = (
      await t.api('GET', `/api/routes?inactive_since=${new Date(before).toISOString()}`)
    ).json();
    assert.deepEqual(Object.keys(inactive as object).sort(), ['/user/idle']);
  });

  it('keeps the epoch and the table when a worker dies, and the replacement serves every route', async () => {
    const epoch = (await t.api('GET', '/api/health')).headers[EPOCH_HEADER];
    await t.addRoute('/user/carol', backend.url);
    const [victim] = Object.values(cluster.workers ?? {});
    const victimPid = victim?.process.pid;
    victim?.process.kill('SIGKILL');
    await waitFor(() => workerPids().length === 2 && !workerPids().includes(victimPid as number), 20_000);
    const served = await hitEveryWorker('/user/carol/tree');
    assert.equal(served.size, 2, 'the new worker serves routes added before it started');
    const health = await t.api('GET', '/api/health');
    assert.equal(health.headers[EPOCH_HEADER], epoch, 'same table, same epoch');
    assert.equal((health.json() as { routes: number }).routes, 3);
  });

  it('aggregates the workers’ metrics on the primary’s metrics listener', async () => {
    const text = await (await fetch(`http://127.0.0.1:${t.proxy.metricsPort}/metrics`)).text();
    const requests = Number(/berth_proxy_http_requests_total\{status="2xx"\} (\d+)/.exec(text)?.[1]);
    assert.ok(requests >= 4, `2xx requests counted in the workers: ${requests}`);
    assert.match(text, /^berth_proxy_routes 3$/m, 'the routes gauge is not multiplied by the workers');
  });
});

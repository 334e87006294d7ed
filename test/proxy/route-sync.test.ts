import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ChpRouteTable } from '../../services/hub/src/proxy/client.ts';
import { RouteSync, type SyncOutcome } from '../../services/hub/src/proxy/sync.ts';
import { type RunningProxy, startProxy } from '../../services/proxy/src/start.ts';
import { TOKEN, testConfig } from '../../services/proxy/src/testing/harness.ts';

/**
 * The hub's route sync against the real proxy, in-process and without Docker: the hub's client reads the proxy's
 * epoch, and a proxy restarted on the same port (routes gone) is seen and healed at the next tick.
 */
describe('hub RouteSync against the real proxy', () => {
  let proxy: RunningProxy | undefined;
  after(() => proxy?.close());

  it('sees a restart by its new epoch and puts the routes back', async () => {
    proxy = await startProxy(testConfig());
    const apiPort = proxy.apiPort;
    const client = new ChpRouteTable({
      apiUrl: `http://127.0.0.1:${apiPort}`,
      authToken: TOKEN,
      timeoutMs: 2_000,
    });
    assert.equal(await client.epoch(), proxy.epoch);

    const desired = {
      path: '/user/alice/',
      target: 'http://alice:8888',
      data: { user: 'alice', berth: true },
    };
    let reconciles = 0;
    const sync = new RouteSync({
      probe: () => client.epoch(),
      reconcile: async () => {
        reconciles++;
        const routes = await client.list();
        if (!routes['/user/alice']) await client.add(desired.path, desired.target, { ...desired.data });
      },
      log: { info() {}, warn() {} },
      reconcileIntervalMs: 60_000,
    });
    const kind = (o: SyncOutcome) => (o.kind === 'reconciled' ? `reconciled:${o.reason}` : o.kind);

    assert.equal(kind(await sync.tick()), 'reconciled:start');
    assert.equal(kind(await sync.tick()), 'in-sync');
    assert.ok((await client.list())['/user/alice']);

    // Restart on the same ports, quicker than a probe: the table is empty and the epoch new.
    const old = proxy.epoch;
    await proxy.close();
    proxy = await startProxy(testConfig({ apiPort }));
    assert.notEqual(proxy.epoch, old);
    assert.deepEqual(await client.list(), {});
    assert.equal(kind(await sync.tick()), 'reconciled:restart');
    assert.equal((await client.list())['/user/alice']?.target, 'http://alice:8888');
    assert.equal(reconciles, 2);

    // Down, then back: the failed probe is remembered.
    await proxy.close();
    assert.equal(kind(await sync.tick()), 'proxy-down');
    proxy = await startProxy(testConfig({ apiPort }));
    assert.equal(kind(await sync.tick()), 'reconciled:restart');
    assert.ok((await client.list())['/user/alice']);
  });

  it('reads no epoch, without failing, from a proxy that has none (stock CHP answers 404)', async () => {
    const { createServer } = await import('node:http');
    const chp = createServer((_req, res) => {
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((resolve) => chp.listen(0, '127.0.0.1', resolve));
    const port = (chp.address() as { port: number }).port;
    try {
      const client = new ChpRouteTable({ apiUrl: `http://127.0.0.1:${port}`, authToken: TOKEN });
      assert.equal(await client.epoch(), undefined);
    } finally {
      chp.close();
    }
  });
});

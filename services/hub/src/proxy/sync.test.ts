import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RouteSync, type SyncOutcome } from './sync.ts';

/** A fake proxy and clock: the test says what the next probe sees, and counts reconciles. */
function harness() {
  const state = {
    epoch: 'e1' as string | undefined,
    up: true,
    reconcileFails: false,
    reconciles: 0,
    clock: 0,
  };
  const sync = new RouteSync({
    probe: async () => {
      if (!state.up) throw new Error('ECONNREFUSED');
      return state.epoch;
    },
    reconcile: async () => {
      if (state.reconcileFails) throw new Error('proxy API answered 500');
      state.reconciles++;
    },
    log: { info() {}, warn() {} },
    reconcileIntervalMs: 5_000,
    now: () => state.clock,
  });
  return { state, sync };
}

const kind = (o: SyncOutcome) => (o.kind === 'reconciled' ? `reconciled:${o.reason}` : o.kind);

describe('RouteSync', () => {
  it('reconciles at start, then only when due', async () => {
    const { state, sync } = harness();
    assert.equal(kind(await sync.tick()), 'reconciled:start');
    state.clock = 1_000;
    assert.equal(kind(await sync.tick()), 'in-sync');
    state.clock = 4_999;
    assert.equal(kind(await sync.tick()), 'in-sync');
    state.clock = 5_000;
    assert.equal(kind(await sync.tick()), 'reconciled:periodic');
    assert.equal(state.reconciles, 2);
  });

  it('reconciles at once when the epoch changes, even without a failed probe in between', async () => {
    const { state, sync } = harness();
    await sync.tick();
    state.clock = 1_000;
    state.epoch = 'e2';
    assert.equal(kind(await sync.tick()), 'reconciled:restart');
    state.clock = 2_000;
    assert.equal(kind(await sync.tick()), 'in-sync');
  });

  it('reconciles when an epoch-less proxy (stock CHP) answers again after being down', async () => {
    const { state, sync } = harness();
    state.epoch = undefined;
    await sync.tick();
    state.up = false;
    state.clock = 1_000;
    assert.equal(kind(await sync.tick()), 'proxy-down');
    assert.equal(kind(await sync.tick()), 'proxy-down');
    state.up = true;
    state.clock = 2_000;
    assert.equal(kind(await sync.tick()), 'reconciled:recovered');
    assert.equal(state.reconciles, 2);
  });

  it('retries a failed reconcile at the next probe, and never counts it as done', async () => {
    const { state, sync } = harness();
    await sync.tick();
    state.epoch = 'e2';
    state.reconcileFails = true;
    assert.equal(kind(await sync.tick()), 'reconcile-failed');
    assert.equal(kind(await sync.tick()), 'reconcile-failed');
    state.reconcileFails = false;
    assert.equal(kind(await sync.tick()), 'reconciled:restart');
  });

  it('never runs two ticks at once', async () => {
    let release: () => void = () => {};
    let probes = 0;
    const sync = new RouteSync({
      probe: () => {
        probes++;
        return new Promise((resolve) => {
          release = () => resolve('e1');
        });
      },
      reconcile: async () => {},
      log: { info() {}, warn() {} },
    });
    const first = sync.tick();
    assert.equal(kind(await sync.tick()), 'busy');
    release();
    assert.equal(kind(await first), 'reconciled:start');
    assert.equal(probes, 1);
  });
});

/**
 * The one conformance suite for the Spawner contract. Every implementation (in-memory, Docker, a future Swarm
 * or Kubernetes backend) registers it from its own test file:
 *
 *   spawnerConformance('DockerSpawner', () => spawner, (id) => requestFor(id), { isRunning });
 *
 * Each test uses its own request (`makeRequest` gets a unique id), and every server a test starts is
 * stopped in an `after` hook, even when the test fails.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  SpawnError,
  type Spawner,
  type SpawnerState,
  type SpawnerStatus,
  type SpawnRequest,
} from './spawner.ts';

export interface ConformanceOptions {
  /**
   * Whether anything for `req` runs on the backend, found without the spawner's state (e.g. by name).
   * With it, the abort tests check the backend itself; without it, only what the spawner reports.
   */
  readonly isRunning?: (req: SpawnRequest) => Promise<boolean>;
  /** When an in-flight start is aborted, in ms after it began. Default [0, 5, 25, 100]. */
  readonly abortDelaysMs?: readonly number[];
  /** Per-test timeout in ms. Default 60 000. */
  readonly timeoutMs?: number;
  /** A reason to skip the whole suite (e.g. "Docker is not reachable"), or false. */
  readonly skip?: string | false;
}

const STATUSES = new Set(['running', 'stopped', 'unknown']);

function assertWellFormed(status: SpawnerStatus): void {
  assert.ok(STATUSES.has(status.state), `unexpected status ${JSON.stringify(status)}`);
  if (status.state === 'unknown') assert.equal(typeof status.error, 'string');
}

export function spawnerConformance(
  name: string,
  makeSpawner: () => Spawner | Promise<Spawner>,
  makeRequest: (id: string) => SpawnRequest,
  options: ConformanceOptions = {},
): void {
  const timeout = options.timeoutMs ?? 60_000;
  const abortDelays = options.abortDelaysMs ?? [0, 5, 25, 100];

  describe(`Spawner conformance: ${name}`, { skip: options.skip ?? false }, () => {
    let spawner: Spawner;
    let seq = 0;
    const toStop: SpawnerState[] = [];
    const request = () => makeRequest(`c${++seq}`);
    const start = async (req: SpawnRequest, signal?: AbortSignal) => {
      const started = await spawner.start(req, signal);
      toStop.push(started.state);
      return started;
    };

    before(async () => {
      spawner = await makeSpawner();
    });

    after(async () => {
      for (const state of toStop) await spawner.stop(state).catch(() => undefined);
    });

    test('start returns a URL without a path and a JSON-serializable state', { timeout }, async () => {
      const { url, state } = await start(request());
      const parsed = new URL(url);
      assert.match(parsed.protocol, /^https?:$/);
      assert.equal(parsed.pathname, '/');
      assert.equal(parsed.search + parsed.hash, '');
      assert.ok(!url.endsWith('/'), 'no trailing slash: the hub appends the prefix');
      assert.deepEqual(JSON.parse(JSON.stringify(state)), state);
      for (const v of Object.values(state)) assert.ok(v === null || typeof v !== 'object', 'flat state');
    });

    test('status is running after start', { timeout }, async () => {
      const { state } = await start(request());
      assert.deepEqual(await spawner.status(state), { state: 'running' });
    });

    test('stop, then status is stopped', { timeout }, async () => {
      const { state } = await start(request());
      await spawner.stop(state);
      assert.equal((await spawner.status(state)).state, 'stopped');
    });

    test('stop is idempotent: twice, and on states it never made', { timeout }, async () => {
      const { state } = await start(request());
      await spawner.stop(state);
      await spawner.stop(state);
      await spawner.stop({});
      assert.equal((await spawner.status(state)).state, 'stopped');
    });

    test('start after stop works again', { timeout }, async () => {
      const req = request();
      const first = await start(req);
      await spawner.stop(first.state);
      const second = await start(req);
      assert.deepEqual(await spawner.status(second.state), { state: 'running' });
      assert.equal((await spawner.status(first.state)).state, 'stopped');
    });

    test('a restarted hub finds the server from its persisted state', { timeout }, async () => {
      const { state } = await start(request());
      const persisted = JSON.parse(JSON.stringify(state)) as SpawnerState;
      const fresh = await makeSpawner();
      assert.deepEqual(await fresh.status(persisted), { state: 'running' });
      await fresh.stop(persisted);
      assert.equal((await spawner.status(state)).state, 'stopped');
    });

    test("servers are independent: stopping one leaves the user's others running", { timeout }, async () => {
      const base = request();
      const named = { ...base, serverName: 'second' };
      const a = await start(base);
      const b = await start(named);
      await spawner.stop(a.state);
      assert.deepEqual(await spawner.status(b.state), { state: 'running' });
      assert.notEqual(a.url, b.url);
    });

    test('status never throws, whatever the state', { timeout }, async () => {
      const { state } = await start(request());
      await spawner.stop(state);
      const odd: SpawnerState[] = [{}, state, { containerId: 42, id: 42, name: true }, { id: '../../x' }];
      for (const s of odd) assertWellFormed(await spawner.status(s));
    });

    test('an already-aborted start rejects ABORTED and starts nothing', { timeout }, async () => {
      const req = request();
      await assert.rejects(spawner.start(req, AbortSignal.abort()), { name: 'SpawnError', code: 'ABORTED' });
      if (options.isRunning) assert.equal(await options.isRunning(req), false);
      const { state } = await start(req);
      assert.deepEqual(await spawner.status(state), { state: 'running' });
    });

    test('a start aborted in flight leaves nothing running', { timeout }, async () => {
      for (const ms of abortDelays) {
        const req = request();
        const ac = new AbortController();
        const aborting = delay(ms).then(() => ac.abort());
        try {
          await start(req, ac.signal);
          // The abort came too late: the server is legitimately running, and `after` stops it.
        } catch (err) {
          assert.ok(err instanceof SpawnError, String(err));
          assert.equal(err.code, 'ABORTED', `after ${ms} ms: ${err.message}`);
          if (err.state) assert.notEqual((await spawner.status(err.state)).state, 'running');
          if (options.isRunning) assert.equal(await options.isRunning(req), false, `after ${ms} ms`);
          // Nothing left behind blocks the next start of the same server.
          const { state } = await start(req);
          assert.deepEqual(await spawner.status(state), { state: 'running' });
        }
        await aborting;
      }
    });
  });
}

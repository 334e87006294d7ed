import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { spawnerConformance } from '../spawner.conformance.ts';
import { SpawnError, type SpawnRequest } from '../spawner.ts';
import {
  ExitsEarlySpawner,
  FailingSpawner,
  type InMemoryBackend,
  InMemorySpawner,
  SlowSpawner,
  UnknownStatusSpawner,
} from './index.ts';

function request(id: string): SpawnRequest {
  return { user: `user-${id}`, serverName: '', image: 'img', env: { A: '1' }, port: 8888 };
}

/** Spawners sharing one backend, so a "restarted hub" (a new instance) sees the same servers. */
function sharedInMemory() {
  const backend: InMemoryBackend = new Map();
  const isRunning = async (req: SpawnRequest) =>
    new InMemorySpawner({ backend }).find(req.user, req.serverName)?.running ?? false;
  return { make: () => new InMemorySpawner({ backend }), isRunning };
}

const mem = sharedInMemory();
spawnerConformance('InMemorySpawner', mem.make, request, { isRunning: mem.isRunning });

const slow = sharedInMemory();
spawnerConformance('SlowSpawner', () => new SlowSpawner({ delayMs: 20, inner: slow.make() }), request, {
  isRunning: slow.isRunning,
  abortDelaysMs: [0, 5, 10, 40],
});

describe('failure-mode fakes', () => {
  test('InMemorySpawner.crash reports the exit code, and logs tell', async () => {
    const s = new InMemorySpawner();
    const { state } = await s.start(request('x'));
    s.crash(state, 137, true);
    assert.deepEqual(await s.status(state), { state: 'stopped', exitCode: 137, oomKilled: true });
    assert.match(await s.logs(state, 1), /exited with 137/);
    assert.equal(s.runningCount, 0);
  });

  test('InMemorySpawner refuses to start a server that is already running', async () => {
    const s = new InMemorySpawner();
    await s.start(request('x'));
    await assert.rejects(s.start(request('x')), { code: 'START_FAILED' });
  });

  test('SlowSpawner takes its time and starts nothing when aborted', async () => {
    const s = new SlowSpawner({ delayMs: 10_000 });
    const ac = new AbortController();
    const p = s.start(request('x'), ac.signal);
    await new Promise((r) => setImmediate(r));
    assert.equal(s.pending, 1);
    ac.abort();
    await assert.rejects(p, { code: 'ABORTED' });
    assert.equal(s.pending, 0);
    assert.equal(s.inner.runningCount, 0);
  });

  test('FailingSpawner rejects START_FAILED, or the code it is given', async () => {
    const s = new FailingSpawner();
    await assert.rejects(s.start(request('x')), { name: 'SpawnError', code: 'START_FAILED' });
    await assert.rejects(new FailingSpawner({ code: 'BACKEND_UNAVAILABLE' }).start(request('x')), {
      code: 'BACKEND_UNAVAILABLE',
    });
    assert.equal(s.attempts, 1);
    await s.stop({});
    assert.deepEqual(await s.status({}), { state: 'stopped' });
  });

  test('ExitsEarlySpawner rejects EXITED_EARLY with the exit code in the state', async () => {
    const s = new ExitsEarlySpawner({ exitCode: 3, output: 'one\nboom' });
    const err = await s.start(request('x')).then(
      () => assert.fail('start should reject'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SpawnError);
    assert.equal(err.code, 'EXITED_EARLY');
    assert.equal(err.state?.exitCode, 3);
    assert.equal(await s.logs({}, 1), 'boom');
    assert.deepEqual(await s.status({}), { state: 'stopped', exitCode: 3, oomKilled: false });
  });

  test('UnknownStatusSpawner says unknown until the backend is back', async () => {
    const s = new UnknownStatusSpawner({ error: 'engine down' });
    const { state } = await s.start(request('x'));
    assert.deepEqual(await s.status(state), { state: 'unknown', error: 'engine down' });
    s.unreachable = false;
    assert.deepEqual(await s.status(state), { state: 'running' });
  });
});

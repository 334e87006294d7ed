import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SpawnerState } from '../spawner.ts';
import type { DockerClient } from './client.ts';
import { DEFAULTS, type DockerSpawnerOptions, resolveOptions } from './options.ts';
import { containerRef, isValidImageRef } from './refs.ts';

const docker = { createContainer: async () => undefined } as unknown as DockerClient;
const base: DockerSpawnerOptions = { docker, network: 'users', deploymentId: 'dep' };

test('resolveOptions applies the documented defaults and freezes the result', () => {
  const o = resolveOptions(base);
  assert.equal(o.prefix, 'berth');
  assert.equal(o.homeMountPath, '/home/jovyan');
  assert.equal(o.user, '1000:100');
  assert.deepEqual(o.defaultLimits, DEFAULTS.defaultLimits);
  assert.ok(Object.isFrozen(o));
  assert.deepEqual(resolveOptions({ ...base, defaultLimits: { pids: 7 } }).defaultLimits.pids, 7);
});

test('resolveOptions refuses unsafe or malformed options, naming the key', () => {
  const bad: [Partial<DockerSpawnerOptions> & Record<string, unknown>, RegExp][] = [
    [{ network: '' }, /network/],
    [{ deploymentId: '' }, /deploymentId/],
    [{ prefix: 'Berth' }, /prefix/],
    [{ user: '0:100' }, /user/],
    [{ user: '1000:0' }, /user/],
    [{ user: '00:100' }, /user/],
    [{ user: 'root' }, /user/],
    [{ user: 'jovyan' }, /user/],
    [{ homeMountPath: '/' }, /homeMountPath/],
    [{ homeMountPath: 'home' }, /homeMountPath/],
    [{ defaultLimits: { memoryBytes: 0 } }, /defaultLimits.memoryBytes/],
    [{ tmpfsSize: -1 }, /tmpfsSize/],
    [{ logMaxSize: '10 MB' }, /logMaxSize/],
    [{ earlyExitWindowMs: -5 }, /earlyExitWindowMs/],
    [{ privileged: true }, /privileged: unknown option/],
  ];
  for (const [patch, msg] of bad) {
    assert.throws(() => resolveOptions({ ...base, ...patch } as DockerSpawnerOptions), {
      name: 'TypeError',
      message: msg,
    });
  }
});

test('containerRef accepts ids and names, refuses anything that could address another endpoint', () => {
  assert.equal(containerRef({ containerId: 'a'.repeat(64), containerName: 'x' }), 'a'.repeat(64));
  assert.equal(containerRef({ containerName: 'berth-alice' }), 'berth-alice');
  assert.equal(containerRef({}), undefined);
  const bad: SpawnerState[] = [
    { containerId: '../images/x' },
    { containerId: 42 },
    { containerName: 'a/b' },
    { containerName: '' },
  ];
  for (const s of bad) {
    assert.equal(containerRef(s), null, JSON.stringify(s));
  }
});

test('isValidImageRef accepts references, refuses path tricks', () => {
  for (const ok of ['berth/debian:bookworm', `localhost:5000/a/b@sha256:${'a'.repeat(64)}`, 'sha256:abc']) {
    assert.ok(isValidImageRef(ok), ok);
  }
  for (const bad of ['', '../x', 'a/../../containers', 'a?b', 'a b', '/abs', 'a#b'])
    assert.ok(!isValidImageRef(bad), bad);
});

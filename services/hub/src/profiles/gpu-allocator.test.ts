import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GpuAllocator } from './gpu-allocator.ts';

describe('GpuAllocator against a configured inventory (no GPU needed)', () => {
  test('hands out distinct devices, as many as the profile asks for', () => {
    const a = new GpuAllocator(['GPU-a', 'GPU-b', 'GPU-c']);
    const one = a.allocate('1/', 1);
    const two = a.allocate('2/', 2);
    assert.ok(one.ok && two.ok);
    assert.equal(one.devices.length, 1);
    assert.equal(two.devices.length, 2);
    assert.equal(new Set([...one.devices, ...two.devices]).size, 3, 'no device is shared');
    assert.deepEqual(a.free(), []);
  });

  test('refuses with a clear message when too few are free, and takes nothing', () => {
    const a = new GpuAllocator(['0', '1']);
    assert.ok(a.allocate('1/', 1).ok);
    const out = a.allocate('2/', 2);
    assert.equal(out.ok, false);
    assert.match(!out.ok ? out.message : '', /no GPU is free: this profile needs 2, 1 of 2 are free/);
    assert.deepEqual(a.free(), ['1'], 'the refused request holds nothing');
    const tooMany = a.allocate('3/', 3);
    assert.match(!tooMany.ok ? tooMany.message : '', /needs 3 GPUs and the hub has 2/);
  });

  test('releases on stop, so the next server gets the device', () => {
    const a = new GpuAllocator(['0']);
    assert.ok(a.allocate('1/', 1).ok);
    assert.equal(a.allocate('2/', 1).ok, false);
    a.release('1/');
    const next = a.allocate('2/', 1);
    assert.ok(next.ok);
    assert.deepEqual(next.devices, ['0']);
  });

  test('a retried start of the same server keeps its devices; zero GPUs takes none', () => {
    const a = new GpuAllocator(['0', '1']);
    const first = a.allocate('1/', 1);
    const again = a.allocate('1/', 1);
    assert.deepEqual(first, again);
    assert.deepEqual(a.allocate('2/', 0), { ok: true, devices: [] });
    assert.deepEqual(a.free(), ['1']);
  });

  test('is rebuilt from running servers after a restart, and never double-books', () => {
    const a = new GpuAllocator(['0', '1', '2']);
    assert.deepEqual(a.hold('1/', ['1']), { held: ['1'], conflicts: [] });
    assert.deepEqual(a.hold('2/', ['1', '2']), { held: ['2'], conflicts: ['1'] });
    assert.deepEqual(
      a.hold('3/', ['gone']),
      { held: [], conflicts: [] },
      'devices no longer configured are dropped',
    );
    const out = a.allocate('4/', 1);
    assert.deepEqual(out, { ok: true, devices: ['0'] });
    assert.equal(a.allocate('5/', 1).ok, false);
  });

  test('an inventory listing a device twice is refused', () => {
    assert.throws(() => new GpuAllocator(['0', '0']), TypeError);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { spawnPlan } from '../servers/spawn-plan.ts';
import { completeSpec, parseImagePin, parseMemory, profileInputSchema, profilePatchSchema } from './spec.ts';

const id = `sha256:${'a'.repeat(64)}`;
const defaults = { cpu: 1, memory: 2 * 1024 ** 3, pids: 512, defaultUrl: '/lab' };

describe('profile definitions', () => {
  test('images must be pinned by digest or local id', () => {
    assert.deepEqual(parseImagePin(id), { kind: 'id', id });
    assert.deepEqual(parseImagePin(`quay.io:443/jupyter/lab@${id}`), {
      kind: 'digest',
      repository: 'quay.io:443/jupyter/lab',
      digest: id,
    });
    for (const bad of [
      'berth/singleuser:lab',
      'berth/singleuser:latest',
      'berth/singleuser',
      `berth/singleuser:latest@${id}`,
      `sha256:${'a'.repeat(63)}`,
      `../x@${id}`,
      `Berth/x@${id}`,
      '',
    ]) {
      assert.equal(parseImagePin(bad), undefined, bad);
      assert.equal(profileInputSchema.safeParse({ name: 'x', image: bad }).success, false, bad);
    }
  });

  test('leaves out nothing: defaults fill what the admin did not set, and internet is off', () => {
    const spec = completeSpec(profileInputSchema.parse({ name: 'lab', image: id }), defaults);
    assert.deepEqual(spec, {
      display_name: 'lab',
      description: '',
      image: id,
      cpu: 1,
      memory: 2 * 1024 ** 3,
      pids: 512,
      gpus: 0,
      data_volumes: [],
      environment: {},
      default_url: '/lab',
      internet: false,
      groups: [],
    });
  });

  test('Swarm placement: node labels and reservations reach the spawn request; labels cannot inject', () => {
    const spec = completeSpec(
      profileInputSchema.parse({
        name: 'gpu',
        image: id,
        node_labels: { gpu: 'a100', 'berth.zone': 'b' },
        reserve_cpu: 0.5,
        reserve_memory: '1G',
      }),
      defaults,
    );
    assert.deepEqual(spec.node_labels, { gpu: 'a100', 'berth.zone': 'b' });
    assert.equal(spec.reserve_memory, 1024 ** 3);
    const global = { image: id, defaultUrl: '/lab', memoryBytes: 1, nanoCpus: 1, pids: 1, adminEnv: {} };
    const plan = spawnPlan(global, { name: 'gpu', version: 1, spec } as never, []);
    assert.deepEqual(plan.extra.placement, { nodeLabels: { gpu: 'a100', 'berth.zone': 'b' } });
    assert.deepEqual(plan.extra.reservations, { memoryBytes: 1024 ** 3, nanoCpus: 5e8 });
    const plain = spawnPlan(
      global,
      { name: 'lab', version: 1, spec: completeSpec({ name: 'lab', image: id }, defaults) } as never,
      [],
    );
    assert.equal(plain.extra.placement, undefined);
    assert.equal(plain.extra.reservations, undefined);
    const empty = completeSpec(
      profileInputSchema.parse({ name: 'lab', image: id, node_labels: {} }),
      defaults,
    );
    assert.equal(empty.node_labels, undefined, 'an empty map is no labels');
    for (const node_labels of [{ 'gpu==a,node.role': 'x' }, { gpu: 'a,node.role==manager' }, { gpu: '' }]) {
      assert.equal(profileInputSchema.safeParse({ name: 'x', image: id, node_labels }).success, false);
    }
  });

  test('sizes are read with units', () => {
    assert.equal(parseMemory('2G'), 2 * 1024 ** 3);
    assert.equal(parseMemory('512M'), 512 * 1024 ** 2);
    assert.equal(parseMemory('1.5GiB'), 1.5 * 1024 ** 3);
    assert.equal(parseMemory(1024), 1024);
    for (const bad of ['-1G', 'lots', '', 0, -5, 1.5]) assert.equal(parseMemory(bad), undefined, String(bad));
    assert.equal(
      profileInputSchema.safeParse({ name: 'x', image: id, memory: '1M' }).success,
      false,
      'too small',
    );
  });

  test('refuses host paths, system mount points and protocol variables', () => {
    const bad: Record<string, unknown>[] = [
      { data_volumes: [{ volume: '/srv/data', mount_path: '/data' }] },
      { data_volumes: [{ volume: '/var/run/docker.sock', mount_path: '/var/run/docker.sock' }] },
      { data_volumes: [{ volume: 'ok', mount_path: '/etc/ssl' }] },
      { data_volumes: [{ volume: 'ok', mount_path: '/home/jovyan' }] },
      { data_volumes: [{ volume: 'ok', mount_path: '/data/../etc' }] },
      {
        data_volumes: [
          { volume: 'a', mount_path: '/data' },
          { volume: 'b', mount_path: '/data' },
        ],
      },
      { environment: { JUPYTERHUB_API_TOKEN: 'x' } },
      { environment: { JUPYTERHUB_DISABLE_USER_CONFIG: '0' } },
      { environment: { 'A=B': 'x' } },
      { privileged: true },
      { binds: ['/:/host'] },
      { gpus: -1 },
      { cpu: 0 },
      { pids: 0 },
      { default_url: 'https://evil.example' },
    ];
    for (const b of bad) {
      assert.equal(
        profileInputSchema.safeParse({ name: 'x', image: id, ...b }).success,
        false,
        JSON.stringify(b),
      );
    }
    const ok = profileInputSchema.safeParse({
      name: 'x',
      image: id,
      data_volumes: [{ volume: 'datasets', mount_path: '/home/jovyan/datasets' }],
      environment: { OMP_NUM_THREADS: '2' },
    });
    assert.ok(ok.success, ok.error?.message);
  });

  test('a patch may not rename a profile or add unknown fields', () => {
    assert.equal(profilePatchSchema.safeParse({ name: 'other' }).success, false);
    assert.equal(profilePatchSchema.safeParse({ image_pull: true }).success, false);
    assert.ok(profilePatchSchema.safeParse({ cpu: 2, internet: true }).success);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DockerClient } from './client.ts';
import {
  containerCreateOptions,
  hostnameFor,
  planContainer,
  resolveLimits,
  toEnvList,
} from './container-config.ts';
import { resolveOptions } from './options.ts';

const docker = { createContainer: async () => assert.fail('unused') } as unknown as DockerClient;
const options = resolveOptions({ docker, network: 'berth-users', deploymentId: 'dep' });
const plan = {
  containerName: 'berth-alice',
  volumeName: 'berth-home-alice',
  network: 'berth-users',
  imageId: 'sha256:abc',
  labels: { 'org.berth.managed': 'true' },
  env: ['A=1'],
  limits: { memoryBytes: 1024 ** 3, nanoCpus: 5e8, pids: 100 },
  port: 8888,
  dataVolumes: [],
  gpus: [],
};

describe('containerCreateOptions', () => {
  const c = containerCreateOptions(options, plan);
  const h = c.HostConfig ?? assert.fail('no HostConfig');

  test('runs the image by id, with its own command, as a non-root user', () => {
    assert.equal(c.Image, 'sha256:abc');
    assert.equal(c.Cmd, undefined);
    assert.equal(c.Entrypoint, undefined);
    assert.equal(c.User, '1000:100');
    assert.equal(c.name, 'berth-alice');
    assert.equal(c.Hostname, 'berth-alice');
    assert.deepEqual(c.Env, ['A=1']);
    assert.equal(c.Labels?.['org.berth.port'], '8888');
  });

  test('is hardened', () => {
    assert.equal(h.ReadonlyRootfs, true);
    assert.deepEqual(h.CapDrop, ['ALL']);
    assert.deepEqual(h.CapAdd, []);
    assert.deepEqual(h.SecurityOpt, ['no-new-privileges:true']);
    assert.equal(h.Privileged, false);
    assert.equal(h.Memory, 1024 ** 3);
    assert.equal(h.MemorySwap, h.Memory);
    assert.equal(h.NanoCpus, 5e8);
    assert.equal(h.PidsLimit, 100);
    assert.deepEqual(h.Tmpfs, { '/tmp': `rw,noexec,nosuid,nodev,size=${256 * 1024 ** 2}` });
    assert.equal(h.Init, true);
    assert.deepEqual(h.RestartPolicy, { Name: 'no' });
    assert.equal(h.IpcMode, 'private');
    assert.deepEqual(h.LogConfig, { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } });
  });

  test('mounts only the home volume, joins only the user network, publishes nothing', () => {
    assert.deepEqual(h.Binds, []);
    assert.deepEqual(h.Mounts, [
      { Type: 'volume', Source: 'berth-home-alice', Target: '/home/jovyan', ReadOnly: false },
    ]);
    assert.equal(h.NetworkMode, 'berth-users');
    assert.deepEqual(h.PortBindings, {});
    assert.equal(h.PublishAllPorts, false);
    assert.equal(c.ExposedPorts, undefined);
  });
});

test('toEnvList makes KEY=VALUE and refuses what Docker would mangle', () => {
  assert.deepEqual(toEnvList({ A: '1', B: 'x=y', C: '' }), ['A=1', 'B=x=y', 'C=']);
  const bad: Record<string, string>[] = [{ 'A=B': '1' }, { '': '1' }, { A: 'a\0b' }, { 'A\0': '1' }];
  for (const env of bad) {
    assert.throws(() => toEnvList(env), { name: 'SpawnError', code: 'START_FAILED' });
  }
});

test('resolveLimits applies defaults and refuses zero (unlimited) and junk', () => {
  const d = { memoryBytes: 10, nanoCpus: 20, pids: 30 };
  assert.deepEqual(resolveLimits(d, undefined), d);
  assert.deepEqual(resolveLimits(d, { pids: 5 }), { memoryBytes: 10, nanoCpus: 20, pids: 5 });
  for (const bad of [{ pids: 0 }, { memoryBytes: -1 }, { nanoCpus: 1.5 }, { pids: Number.NaN }]) {
    assert.throws(() => resolveLimits(d, bad), { code: 'START_FAILED' });
  }
});

test('hostnameFor keeps names within the 63-byte limit', () => {
  assert.equal(hostnameFor('berth-alice'), 'berth-alice');
  const long = `berth-${'a'.repeat(56)}-2dx`;
  assert.equal(hostnameFor(long), `berth-${'a'.repeat(56)}`);
  assert.ok(hostnameFor(`berth-${'-e6'.repeat(40)}`).length <= 63);
});

describe('profiles in the container config', () => {
  const withProfile = containerCreateOptions(options, {
    ...plan,
    dataVolumes: [{ volume: 'datasets', mountPath: '/data/sets' }],
    gpus: ['GPU-1', '3'],
    profile: 'gpu-lab@4',
  });
  const h = withProfile.HostConfig ?? assert.fail('no HostConfig');

  test('data volumes are named volumes, mounted read-only, never filled from the image', () => {
    assert.deepEqual(h.Mounts?.[1], {
      Type: 'volume',
      Source: 'datasets',
      Target: '/data/sets',
      ReadOnly: true,
      VolumeOptions: { NoCopy: true },
    });
    assert.deepEqual(h.Binds, []);
  });

  test('the granted GPUs, and only they, are requested as devices', () => {
    assert.deepEqual(h.DeviceRequests, [
      { Driver: 'nvidia', DeviceIDs: ['GPU-1', '3'], Capabilities: [['gpu']] },
    ]);
    assert.deepEqual(h.Devices, []);
    const none = containerCreateOptions(options, plan).HostConfig;
    assert.deepEqual(none?.DeviceRequests, [], 'no GPUs: no device requests');
    assert.deepEqual(none?.Devices, []);
  });

  test('the profile version is a label', () => {
    assert.equal(withProfile.Labels?.['org.berth.profile'], 'gpu-lab@4');
    assert.equal(containerCreateOptions(options, plan).Labels?.['org.berth.profile'], undefined);
  });

  test('planContainer refuses host paths, paths over the home or /tmp, and odd GPU ids', () => {
    const req = { user: 'alice', serverName: '', image: `sha256:${'a'.repeat(64)}`, env: {}, port: 8888 };
    const bad = [
      { dataVolumes: [{ volume: '/etc', mountPath: '/data' }] },
      { dataVolumes: [{ volume: '/var/run/docker.sock', mountPath: '/data' }] },
      { dataVolumes: [{ volume: 'ok', mountPath: '/home/jovyan' }] },
      { dataVolumes: [{ volume: 'ok', mountPath: '/tmp' }] },
      { dataVolumes: [{ volume: 'ok', mountPath: '/data/../etc' }] },
      { dataVolumes: [{ volume: 'ok', mountPath: 'relative' }] },
      { gpus: ['0', '0'] },
      { gpus: ['../x'] },
    ];
    for (const patch of bad) {
      assert.throws(
        () => planContainer(options, { ...req, ...patch }),
        { name: 'SpawnError' },
        JSON.stringify(patch),
      );
    }
    const ok = planContainer(options, {
      ...req,
      dataVolumes: [{ volume: 'sets', mountPath: '/data' }],
      gpus: ['0'],
    });
    assert.deepEqual(ok.dataVolumes, [{ volume: 'sets', mountPath: '/data' }]);
    assert.deepEqual(ok.gpus, ['0']);
  });
});

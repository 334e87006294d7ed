/**
 * DockerSpawner against the real engine: the shared conformance suite, then what only Docker can show
 * (`docker inspect` of the hardening, the home volume surviving a new container, early exits, logs).
 * Skipped, with the reason, only when the engine cannot be reached.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import Dockerode from 'dockerode';
import { containerName, volumeName } from '../names.ts';
import { spawnerConformance } from '../spawner.conformance.ts';
import { SpawnError, type SpawnerState, type SpawnRequest } from '../spawner.ts';
import {
  buildTestImages,
  cleanup,
  createNetwork,
  dockerUnavailable,
  TEST_IMAGES,
  TEST_LABEL,
  testImageId,
  testNamespace,
} from '../testing/docker-test-env.ts';
import { DockerSpawner } from './docker-spawner.ts';

const docker = new Dockerode();
const skip = await dockerUnavailable(docker);
const ns = testNamespace();
const timeout = 120_000;
const limits = { memoryBytes: 256 * 1024 ** 2, nanoCpus: 5e8, pids: 128 };

function spawner(): DockerSpawner {
  return new DockerSpawner({
    docker,
    network: ns.network,
    deploymentId: ns.deploymentId,
    prefix: ns.prefix,
    defaultLimits: limits,
    tmpfsSize: 16 * 1024 ** 2,
  });
}

function request(user: string, patch: Partial<SpawnRequest> = {}): SpawnRequest {
  return {
    user,
    serverName: '',
    image: testImageId('sleeper'),
    env: { BERTH_TEST_GREETING: `hello ${user}` },
    port: 8888,
    ...patch,
  };
}

/** Running containers of this run for the request's user and server, found by labels, not by state. */
async function isRunning(req: SpawnRequest): Promise<boolean> {
  const filters = JSON.stringify({ label: [`org.berth.deployment=${ns.deploymentId}`], status: ['running'] });
  const list = await docker.listContainers({ filters });
  return list.some(
    (c) => c.Labels['org.berth.user'] === req.user && c.Labels['org.berth.server'] === req.serverName,
  );
}

/** Polls the server's logs until `pattern` shows up (the container prints its probes at start). */
async function waitForLogs(s: DockerSpawner, state: SpawnerState, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const out = await s.logs(state, 100);
    if (pattern.test(out)) return out;
    if (Date.now() > deadline) assert.fail(`logs never matched ${pattern}:\n${out}`);
    await delay(50);
  }
}

before(async () => {
  if (skip) return;
  await buildTestImages(docker);
  await createNetwork(docker, ns);
});

after(async () => {
  if (!skip) await cleanup(docker, ns);
});

spawnerConformance('DockerSpawner', spawner, (id) => request(`conf-${id}`), {
  isRunning,
  skip,
  timeoutMs: timeout,
  abortDelaysMs: [0, 20, 100, 300],
});

describe('DockerSpawner on a real engine', { skip }, () => {
  const s = spawner();
  const started: SpawnerState[] = [];
  const start = async (req: SpawnRequest) => {
    const result = await s.start(req);
    started.push(result.state);
    return result;
  };
  const rejection = (p: Promise<unknown>) =>
    p.then(
      () => assert.fail('expected a rejection'),
      (err: unknown) => {
        assert.ok(err instanceof SpawnError, String(err));
        return err;
      },
    );

  after(async () => {
    for (const state of started) await s.stop(state).catch(() => undefined);
  });

  test('docker inspect shows every hardening setting', { timeout }, async () => {
    const { url, state } = await start(request('Hard.User'));
    const name = containerName(ns.prefix, 'Hard.User', '');
    assert.equal(url, `http://${name}:8888`);
    assert.deepEqual(Object.keys(state).sort(), ['containerId', 'containerName', 'imageId', 'volumeName']);
    const info = await docker.getContainer(String(state.containerId)).inspect();
    const h = info.HostConfig;
    assert.equal(info.Name, `/${name}`);
    assert.equal(info.Config.Hostname, name);
    assert.equal(h.ReadonlyRootfs, true);
    assert.deepEqual(h.CapDrop, ['ALL']);
    assert.ok(!h.CapAdd?.length, 'no capabilities added');
    assert.ok(h.SecurityOpt?.includes('no-new-privileges:true'));
    assert.equal(h.Privileged, false);
    assert.equal(info.Config.User, '1000:100');
    assert.equal(h.Memory, limits.memoryBytes);
    assert.equal(h.MemorySwap, h.Memory);
    assert.equal(h.NanoCpus, limits.nanoCpus);
    assert.equal(h.PidsLimit, limits.pids);
    assert.deepEqual(h.Tmpfs, { '/tmp': `rw,noexec,nosuid,nodev,size=${16 * 1024 ** 2}` });
    assert.ok(!h.Binds?.length, 'no binds of host paths');
    assert.ok(Object.keys(h.PortBindings ?? {}).length === 0, 'no port bindings');
    assert.equal(h.PublishAllPorts, false);
    assert.deepEqual(info.NetworkSettings.Ports ?? {}, {});
    assert.deepEqual(
      info.Mounts.map((m) => [m.Type, m.Name, m.Destination, m.RW]),
      [['volume', volumeName(ns.prefix, 'Hard.User', ''), '/home/jovyan', true]],
    );
    assert.deepEqual(Object.keys(info.NetworkSettings.Networks), [ns.network]);
    assert.equal(h.NetworkMode, ns.network);
    assert.ok(!['host'].includes(String(h.PidMode)) && h.PidMode === '', 'private pid namespace');
    assert.equal(h.IpcMode, 'private');
    assert.equal(h.UTSMode, '');
    assert.equal(h.Init, true);
    assert.equal(h.RestartPolicy?.Name, 'no');
    assert.equal(h.LogConfig?.Type, 'json-file');
    assert.equal(h.LogConfig?.Config?.['max-size'], '10m');
    assert.equal(info.Image, state.imageId);
    assert.equal(info.Config.Cmd?.at(-1)?.includes('sleep infinity'), true, "the image's own command runs");
    // The image may carry labels of its own; the spawner adds exactly these.
    const berthLabels = Object.fromEntries(
      Object.entries(info.Config.Labels ?? {}).filter(([k]) => k.startsWith('org.berth.')),
    );
    assert.deepEqual(berthLabels, {
      'org.berth.managed': 'true',
      'org.berth.deployment': ns.deploymentId,
      'org.berth.user': 'Hard.User',
      'org.berth.server': '',
      'org.berth.port': '8888',
    });
    // And from inside: no capabilities, no new privileges, read-only root, writable /tmp, not root.
    const out = await waitForLogs(s, state, /marker=/);
    assert.match(out, /^uid=1000 gid=100$/m);
    assert.match(out, /^CapEff: 0{16}$/m);
    assert.match(out, /^NoNewPrivs: 1$/m);
    assert.match(out, /^rootfs=readonly$/m);
    assert.match(out, /^tmp=writable$/m);
  });

  test('the home volume is labelled and kept on stop', { timeout }, async () => {
    const { state } = await start(request('vol-user', { serverName: 'gpu' }));
    await s.stop(state);
    const v = await docker.getVolume(volumeName(ns.prefix, 'vol-user', 'gpu')).inspect();
    assert.deepEqual(v.Labels, {
      'org.berth.managed': 'true',
      'org.berth.deployment': ns.deploymentId,
      'org.berth.user': 'vol-user',
      'org.berth.server': 'gpu',
    });
  });

  test('the environment reaches the server, and logs() returns its output', { timeout }, async () => {
    const { state } = await start(request('env-user', { env: { BERTH_TEST_GREETING: 'hi from the hub ✓' } }));
    const out = await waitForLogs(s, state, /marker=/);
    assert.match(out, /^greeting=hi from the hub ✓$/m);
    assert.equal(await s.logs(state, 1), 'marker=');
    assert.equal((await s.logs(state, 2)).split('\n').length, 2);
  });

  test('a file written in the home volume survives stop and a new container', { timeout }, async () => {
    const value = `kept-${ns.run}`;
    const first = await start(request('persist', { env: { BERTH_TEST_WRITE: value } }));
    await waitForLogs(s, first.state, new RegExp(`^marker=${value}$`, 'm'));
    await s.stop(first.state);
    const second = await start(request('persist'));
    assert.notEqual(second.state.containerId, first.state.containerId);
    await waitForLogs(s, second.state, new RegExp(`^marker=${value}$`, 'm'));
  });

  test('IMAGE_NOT_FOUND for an image the engine does not have; nothing is created', { timeout }, async () => {
    const req = request('no-image', { image: 'berth-test/does-not-exist:nope' });
    const err = await rejection(s.start(req));
    assert.equal(err.code, 'IMAGE_NOT_FOUND');
    assert.equal((await s.list({ user: 'no-image' })).length, 0);
    await assert.rejects(docker.getVolume(volumeName(ns.prefix, 'no-image', '')).inspect(), {
      statusCode: 404,
    });
  });

  test('EXITED_EARLY with the exit code; logs() explains; the next start replaces it', {
    timeout,
  }, async () => {
    const err = await rejection(s.start(request('crashy', { image: testImageId('exit3') })));
    assert.equal(err.code, 'EXITED_EARLY');
    assert.equal(err.state?.exitCode, 3);
    assert.equal(err.state?.oomKilled, false);
    const state = err.state ?? assert.fail('no state');
    assert.deepEqual(await s.status(state), { state: 'stopped', exitCode: 3, oomKilled: false });
    assert.equal(await s.logs(state, 10), 'boom');
    // The stopped container is ours, so a new start removes it and goes ahead.
    const again = await start(request('crashy'));
    assert.notEqual(again.state.containerId, state.containerId);
    assert.equal((await s.status(state)).state, 'stopped');
  });

  test('a running server is not started twice', { timeout }, async () => {
    const first = await start(request('twice'));
    const err = await rejection(s.start(request('twice')));
    assert.equal(err.code, 'START_FAILED');
    assert.equal(err.state?.containerId, first.state.containerId);
    assert.deepEqual(await s.status(first.state), { state: 'running' });
  });

  test('a same-named container that is not ours is never touched', { timeout }, async () => {
    const name = containerName(ns.prefix, 'intruder', '');
    const foreign = await docker.createContainer({
      name,
      Image: TEST_IMAGES.sleeper.tag,
      Labels: { [TEST_LABEL]: ns.run },
      HostConfig: { NetworkMode: 'none' },
    });
    const err = await rejection(s.start(request('intruder')));
    assert.equal(err.code, 'START_FAILED');
    await s.stop({ containerId: foreign.id, containerName: name });
    assert.deepEqual(await s.status({ containerId: foreign.id }), { state: 'stopped' });
    assert.equal(await s.logs({ containerId: foreign.id }, 10), '');
    assert.equal((await foreign.inspect()).Id, foreign.id, 'still there');
  });

  test('list() finds this deployment’s servers for reattach', { timeout }, async () => {
    const { url, state } = await start(request('Lïst User', { serverName: 'gpu' }));
    const found = await s.list({ user: 'Lïst User' });
    assert.deepEqual(found, [
      {
        user: 'Lïst User',
        serverName: 'gpu',
        running: true,
        url,
        state: {
          containerId: state.containerId,
          containerName: state.containerName,
          volumeName: state.volumeName,
        },
      },
    ]);
    const other = new DockerSpawner({
      docker,
      network: ns.network,
      deploymentId: `${ns.deploymentId}-other`,
    });
    assert.deepEqual(await other.list(), []);
    assert.deepEqual(await other.status(state), { state: 'stopped' }, 'another deployment sees nothing');
  });

  test('long and unicode names: Docker-safe, hostname within 63 bytes', { timeout }, async () => {
    const user = 'ü'.repeat(30);
    const { state } = await start(request(user, { serverName: 'Ω' }));
    const info = await docker.getContainer(String(state.containerId)).inspect();
    assert.equal(info.Name, `/${containerName(ns.prefix, user, 'Ω')}`);
    assert.ok(info.Config.Hostname.length <= 63);
    assert.deepEqual(await s.status(state), { state: 'running' });
    const err = await rejection(s.start(request('日'.repeat(40))));
    assert.equal(err.code, 'START_FAILED');
  });
});

describe('DockerSpawner with an unreachable engine', () => {
  const gone = new DockerSpawner({
    docker: new Dockerode({ socketPath: '/nonexistent/docker.sock' }),
    network: 'users',
    deploymentId: 'nowhere',
  });
  const state = { containerId: 'a'.repeat(64), containerName: 'berth-alice', volumeName: 'berth-home-alice' };

  test('status is unknown, never stopped', async () => {
    const status = await gone.status(state);
    assert.equal(status.state, 'unknown');
  });

  test('start rejects BACKEND_UNAVAILABLE', async () => {
    await assert.rejects(gone.start(request('alice')), { name: 'SpawnError', code: 'BACKEND_UNAVAILABLE' });
  });

  test('stop rejects BACKEND_UNAVAILABLE rather than pretending it stopped', async () => {
    await assert.rejects(gone.stop(state), { name: 'SpawnError', code: 'BACKEND_UNAVAILABLE' });
  });
});

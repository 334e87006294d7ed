/**
 * What profiles ask of Docker, on the real engine: the pin check before every start, read-only data volumes,
 * and the image probe (run once, offline and hardened, then removed). Skipped, with the reason, only when the
 * engine cannot be reached.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { volumeName } from '../names.ts';
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
import type { DockerClient } from './client.ts';
import { DockerImages, LABEL_PROBE } from './docker-images.ts';
import { DockerSpawner } from './docker-spawner.ts';

const docker = new Dockerode();
const skip = await dockerUnavailable(docker);
const ns = testNamespace();
const timeout = 180_000;
const LAB = 'berth/singleuser:lab';
const dataVolume = `berth-test-data-${ns.run}`;

function spawner(client: DockerClient = docker): DockerSpawner {
  return new DockerSpawner({
    docker: client,
    network: ns.network,
    deploymentId: ns.deploymentId,
    prefix: ns.prefix,
    tmpfsSize: 16 * 1024 ** 2,
  });
}

function request(user: string, patch: Partial<SpawnRequest> = {}): SpawnRequest {
  return { user, serverName: '', image: testImageId('sleeper'), env: {}, port: 8888, ...patch };
}

async function refusal(p: Promise<unknown>): Promise<SpawnError> {
  return p.then(
    () => assert.fail('expected a refusal'),
    (err: unknown) => {
      assert.ok(err instanceof SpawnError, String(err));
      return err;
    },
  );
}

/** Nothing of `user` exists in Docker: no container, no home volume. */
async function leftNothing(user: string): Promise<void> {
  const filters = JSON.stringify({
    label: [`org.berth.deployment=${ns.deploymentId}`, `org.berth.user=${user}`],
  });
  assert.deepEqual(await docker.listContainers({ all: true, filters }), []);
  await assert.rejects(docker.getVolume(volumeName(ns.prefix, user, '')).inspect(), { statusCode: 404 });
}

/** No container of `user` is left (its home volume may stay, as after any failed start). */
async function leftNothingRunning(user: string): Promise<void> {
  const filters = JSON.stringify({
    label: [`org.berth.deployment=${ns.deploymentId}`, `org.berth.user=${user}`],
  });
  assert.deepEqual(await docker.listContainers({ all: true, filters }), []);
}

before(async () => {
  if (skip) return;
  await buildTestImages(docker);
  await createNetwork(docker, ns);
  await docker.createVolume({ Name: dataVolume, Labels: { [TEST_LABEL]: ns.run } });
});

after(async () => {
  if (skip) return;
  await cleanup(docker, ns);
  await docker
    .getVolume(dataVolume)
    .remove()
    .catch(() => undefined);
});

describe('the pin check before every start', { skip }, () => {
  const s = spawner();
  const started: SpawnerState[] = [];
  after(async () => {
    for (const st of started) await s.stop(st).catch(() => undefined);
  });

  test('a local image id pin starts that image', { timeout }, async () => {
    const { state } = await s.start(request('pinned'));
    started.push(state);
    assert.equal(state.imageId, testImageId('sleeper'));
    const info = await docker.getContainer(String(state.containerId)).inspect();
    assert.equal(info.Image, testImageId('sleeper'));
  });

  test('a tag, even of the right image, is refused with IMAGE_MISMATCH and creates nothing', {
    timeout,
  }, async () => {
    for (const image of [TEST_IMAGES.sleeper.tag, 'berth-test/sleeper']) {
      const err = await refusal(s.start(request('tagged', { image })));
      assert.equal(err.code, 'IMAGE_MISMATCH', image);
    }
    await leftNothing('tagged');
  });

  test('the right repository with another digest is refused and creates nothing', { timeout }, async () => {
    // The engine lacks that digest, so it is pulled by digest, and no registry has it (image-pull.test.ts pulls
    // one that a registry has); with pulls off it is simply not found.
    const digest = `berth-test/sleeper@sha256:${'0'.repeat(64)}`;
    const err = await refusal(s.start(request('digest', { image: digest })));
    assert.equal(err.code, 'IMAGE_PULL_FAILED', err.message);
    await leftNothing('digest');
    const off = new DockerSpawner({
      docker,
      network: ns.network,
      deploymentId: ns.deploymentId,
      prefix: ns.prefix,
      pullTimeoutMs: 0,
    });
    assert.equal((await refusal(off.start(request('digest', { image: digest })))).code, 'IMAGE_NOT_FOUND');
    await leftNothing('digest');
  });

  test('an engine that answers with another image than pinned is refused (IMAGE_MISMATCH)', {
    timeout,
  }, async () => {
    // Models an engine whose image store changed under the reference: inspect answers with another id.
    const swapped: DockerClient = Object.assign(Object.create(docker) as DockerClient, {
      getImage: () => ({ inspect: async () => ({ Id: testImageId('exit3'), RepoDigests: [] }) }),
    });
    const err = await refusal(spawner(swapped).start(request('swapped')));
    assert.equal(err.code, 'IMAGE_MISMATCH');
    await leftNothing('swapped');
  });
});

describe('GPUs', { skip }, () => {
  test('the create body carries the granted devices; an engine without GPUs refuses at start', {
    timeout,
  }, async () => {
    const bodies: Dockerode.ContainerCreateOptions[] = [];
    const recording: DockerClient = Object.assign(Object.create(docker) as DockerClient, {
      createContainer: (o: Dockerode.ContainerCreateOptions) => {
        bodies.push(o);
        return docker.createContainer(o);
      },
    });
    const s = spawner(recording);
    const started = await s.start(request('gpu-user', { gpus: ['GPU-0f1e', '3'] })).then(
      (r) => r,
      (err: unknown) => err,
    );
    // This engine may or may not have the NVIDIA runtime: either the server got the devices, or the refusal
    // says why; both prove the request reached Docker as a device request and nothing else.
    if (started instanceof SpawnError) {
      assert.equal(started.code, 'GPU_UNAVAILABLE', started.message);
      await leftNothingRunning('gpu-user');
    } else {
      await s.stop((started as { state: SpawnerState }).state);
    }
    assert.equal(bodies.length, 1);
    assert.deepEqual(bodies[0]?.HostConfig?.DeviceRequests, [
      { Driver: 'nvidia', DeviceIDs: ['GPU-0f1e', '3'], Capabilities: [['gpu']] },
    ]);
    assert.deepEqual(bodies[0]?.HostConfig?.Devices, []);
  });
});

describe('data volumes', { skip }, () => {
  const s = spawner();
  const started: SpawnerState[] = [];
  after(async () => {
    for (const st of started) await s.stop(st).catch(() => undefined);
  });

  test('are mounted read-only: the server cannot write to them', { timeout }, async () => {
    const { state } = await s.start(
      request('reader', { dataVolumes: [{ volume: dataVolume, mountPath: '/data/sets' }] }),
    );
    started.push(state);
    const info = await docker.getContainer(String(state.containerId)).inspect();
    const m = info.Mounts.find((x) => x.Destination === '/data/sets');
    assert.equal(m?.Name, dataVolume);
    assert.equal(m?.RW, false);
    const exec = await docker.getContainer(String(state.containerId)).exec({
      Cmd: ['sh', '-c', 'touch /data/sets/x 2>/dev/null && echo wrote || echo refused'],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({});
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    assert.match(Buffer.concat(chunks).toString('utf8'), /refused/);
  });

  test('a volume that does not exist is refused, never created', { timeout }, async () => {
    const missing = `berth-test-missing-${ns.run}`;
    const err = await refusal(
      s.start(request('missing', { dataVolumes: [{ volume: missing, mountPath: '/data' }] })),
    );
    assert.equal(err.code, 'DATA_VOLUME_NOT_FOUND');
    await assert.rejects(docker.getVolume(missing).inspect(), { statusCode: 404 });
    await leftNothing('missing');
  });

  test("another user's home volume is never a data volume", { timeout }, async () => {
    const { state } = await s.start(request('victim'));
    started.push(state);
    const home = volumeName(ns.prefix, 'victim', '');
    const err = await refusal(
      s.start(request('thief', { dataVolumes: [{ volume: home, mountPath: '/data' }] })),
    );
    assert.equal(err.code, 'START_FAILED');
    assert.match(err.message, /home volume/);
    await leftNothing('thief');
  });
});

describe('the image probe', { skip }, () => {
  const images = new DockerImages({ docker, deploymentId: ns.deploymentId, prefix: ns.prefix });
  let labId: string;

  before(async () => {
    labId = (await docker.getImage(LAB).inspect()).Id;
  });

  async function probesLeft(): Promise<number> {
    const filters = JSON.stringify({
      label: [`${LABEL_PROBE}=true`, `org.berth.deployment=${ns.deploymentId}`],
    });
    return (await docker.listContainers({ all: true, filters })).length;
  }

  test('reports the jupyterhub version of a stock single-user image as compatible', { timeout }, async () => {
    const out = await images.probe(labId);
    // The same fact, asked another way: the jupyterhub package inside the image.
    const { stdout } = await promisify(execFile)('docker', [
      'run',
      '--rm',
      '--network',
      'none',
      '--entrypoint',
      'python3',
      labId,
      '-c',
      'import jupyterhub; print(jupyterhub.__version__)',
    ]);
    assert.equal(out.status, 'compatible', JSON.stringify(out));
    assert.equal(out.status === 'compatible' && out.version, stdout.trim());
    assert.equal(out.imageId, labId);
    assert.equal(await probesLeft(), 0, 'the probe container is removed');
    assert.deepEqual(await spawner().list(), [], 'probes are never taken for servers');
  });

  test('an image without jupyterhub-singleuser is incompatible', { timeout }, async () => {
    const out = await images.probe(testImageId('sleeper'));
    assert.equal(out.status, 'incompatible', JSON.stringify(out));
    assert.match(out.detail, /jupyterhub-singleuser/);
    assert.equal(await probesLeft(), 0);
  });

  test('probe containers a crashed hub left behind are removed at the next start, nothing else', {
    timeout,
  }, async () => {
    const sleeper = testImageId('sleeper');
    // What a hub killed mid-probe leaves: a running probe container of this deployment.
    const left = await docker.createContainer({ ...images.createOptions(sleeper), Cmd: ['sleep', '300'] });
    await left.start();
    // Another deployment's probe on the same engine is not ours to remove.
    const otherOpts = images.createOptions(sleeper);
    const theirs = await docker.createContainer({
      ...otherOpts,
      name: `${otherOpts.name}-other`,
      Cmd: ['sleep', '300'],
      Labels: { ...otherOpts.Labels, 'org.berth.deployment': `${ns.deploymentId}-other` },
    });
    await theirs.start();
    try {
      assert.equal(await probesLeft(), 1);
      assert.equal(await images.removeLeftoverProbes(), 1);
      assert.equal(await probesLeft(), 0);
      assert.equal((await theirs.inspect()).State.Running, true, "another deployment's probe stays");
      assert.equal(await images.removeLeftoverProbes(), 0, 'nothing left the second time');
    } finally {
      await left.remove({ force: true }).catch(() => undefined);
      await theirs.remove({ force: true }).catch(() => undefined);
    }
  });

  test('refuses to run anything but a pinned image, or one the engine lacks', { timeout }, async () => {
    assert.equal((await images.probe(LAB)).status, 'failed', 'a tag');
    assert.equal((await images.probe(`sha256:${'0'.repeat(64)}`)).status, 'failed', 'absent');
  });

  test('runs offline and hardened', () => {
    const o = images.createOptions(labId);
    const h = o.HostConfig ?? assert.fail('no HostConfig');
    assert.equal(o.NetworkDisabled, true);
    assert.equal(h.NetworkMode, 'none');
    assert.equal(h.ReadonlyRootfs, true);
    assert.deepEqual(h.CapDrop, ['ALL']);
    assert.deepEqual(h.SecurityOpt, ['no-new-privileges:true']);
    assert.equal(h.Privileged, false);
    assert.deepEqual(h.Binds, []);
    assert.deepEqual(h.Mounts, []);
    assert.equal(o.User, '1000:100');
    assert.ok(o.name?.startsWith(`${ns.prefix}-probe-`), 'named like the deployment (the Docker API guard)');
    assert.equal(o.Labels?.['org.berth.probe'], 'true');
    assert.ok((h.PidsLimit ?? 0) > 0 && (h.Memory ?? 0) > 0);
  });
});

/**
 * Pulling a missing profile image by its digest, on the real engine from a real registry (the kit's
 * berth/registry: CNCF distribution from Debian, on a loopback port). The image is pushed, removed from the
 * engine, and the spawner must bring it back by digest, with progress, before it starts the server.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { SpawnError, type SpawnerState } from '../spawner.ts';
import {
  BASE_IMAGE,
  buildImage,
  cleanup,
  createNetwork,
  dockerUnavailable,
  testNamespace,
} from '../testing/docker-test-env.ts';
import { DockerSpawner } from './docker-spawner.ts';
import { PullProgress, pullableRef } from './image-pull.ts';

const run = promisify(execFile);
const docker = new Dockerode();
const skip = await dockerUnavailable(docker);
const ns = testNamespace();
const REGISTRY_IMAGE = process.env.BERTH_TEST_REGISTRY_IMAGE ?? 'berth/registry:2.8';
const timeout = 240_000;

describe('pullableRef and PullProgress (no engine)', () => {
  test('only repository@sha256:<64 hex> is pullable', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(pullableRef(`127.0.0.1:5000/team/lab@${d}`), {
      repository: '127.0.0.1:5000/team/lab',
      digest: d,
    });
    assert.equal(pullableRef(d), undefined, 'an image id names a local image');
    assert.equal(pullableRef('team/lab:latest'), undefined, 'a tag');
    assert.equal(pullableRef(`team/lab@sha256:${'a'.repeat(63)}`), undefined, 'a short digest');
    assert.equal(pullableRef(`team/lab:1@${d}`), undefined, 'a tag and a digest');
  });

  test('progress adds up the layers, in bytes', () => {
    const p = new PullProgress();
    assert.equal(p.message(), undefined);
    p.see({
      id: 'a',
      status: 'Downloading',
      progressDetail: { current: 1024 * 1024, total: 4 * 1024 * 1024 },
    });
    p.see({ id: 'b', status: 'Already exists' });
    assert.equal(p.message(), 'Pulling the image: 1.0 of 4.0 MB (25%), 1 of 2 layers');
    p.see({ id: 'a', status: 'Pull complete' });
    assert.equal(p.message(), 'Pulling the image: 4.0 of 4.0 MB (100%), 2 of 2 layers');
  });
});

describe('pulling a missing image by digest (real engine, real registry)', { skip }, () => {
  let registry: Dockerode.Container;
  let repo: string;
  let pinned: string;
  const started: SpawnerState[] = [];

  const spawner = (o: { pullTimeoutMs?: number } = {}) =>
    new DockerSpawner({
      docker,
      network: ns.network,
      deploymentId: ns.deploymentId,
      prefix: ns.prefix,
      tmpfsSize: 16 * 1024 ** 2,
      ...o,
    });
  const request = (user: string, image: string) => ({ user, serverName: '', image, env: {}, port: 8888 });

  before(async () => {
    await createNetwork(docker, ns);
    registry = await docker.createContainer({
      name: `berth-test-registry-${ns.run}`,
      Image: REGISTRY_IMAGE,
      Labels: { 'org.berth.test': ns.run },
      HostConfig: { PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
    });
    await registry.start();
    const port = (await registry.inspect()).NetworkSettings.Ports['5000/tcp']?.[0]?.HostPort;
    assert.ok(port, 'the registry has a host port');
    // Docker trusts registries on 127.0.0.0/8 without TLS.
    repo = `127.0.0.1:${port}/berth-test/pullme-${ns.run}`;
    const deadline = Date.now() + 30_000;
    while (
      !(await fetch(`http://127.0.0.1:${port}/v2/`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      assert.ok(Date.now() < deadline, 'the registry did not come up');
      await new Promise((r) => setTimeout(r, 200));
    }
    // A small image of its own (a unique layer over the kit's base), so removing it removes its content.
    await buildImage(
      docker,
      `${repo}:v1`,
      [
        `FROM ${BASE_IMAGE}`,
        `RUN head -c 3000000 /dev/urandom > /payload && echo ${randomBytes(8).toString('hex')} > /id`,
        'RUN useradd --uid 1000 --gid 100 --home-dir /home/jovyan --create-home --shell /bin/sh jovyan',
        'USER 1000:100',
        'CMD ["sleep", "infinity"]',
      ].join('\n'),
    );
    await run('docker', ['push', `${repo}:v1`]);
    const digests = (await docker.getImage(`${repo}:v1`).inspect()).RepoDigests ?? [];
    const ref = digests.find((d) => d.startsWith(`${repo}@`));
    assert.ok(ref, `a digest for ${repo}: ${digests.join(', ')}`);
    pinned = ref;
    await docker.getImage(`${repo}:v1`).remove({ force: true });
    await assert.rejects(docker.getImage(pinned).inspect(), { statusCode: 404 }, 'gone from the engine');
  });

  after(async () => {
    for (const s of started)
      await spawner()
        .stop(s)
        .catch(() => undefined);
    await cleanup(docker, ns);
    await registry?.remove({ force: true }).catch(() => undefined);
    await docker
      .getImage(pinned ?? 'none')
      .remove({ force: true })
      .catch(() => undefined);
  });

  test('brings the pinned image back by digest, reporting bytes, then starts the server', {
    timeout,
  }, async () => {
    const steps: string[] = [];
    const out = await spawner().start(request('puller', pinned), undefined, (m) => steps.push(m));
    started.push(out.state);
    assert.ok(steps[0]?.startsWith('Pulling the image'), steps.join(' | '));
    assert.ok(
      steps.some((m) => /^Pulled the image: [\d.]+ of [\d.]+ MB \(100%\), \d+ of \d+ layers$/.test(m)),
      steps.join(' | '),
    );
    const info = await docker.getImage(pinned).inspect();
    assert.ok(info.RepoDigests?.includes(pinned), 'the engine holds exactly the pinned digest');
    assert.equal(out.state.imageId, info.Id);
    assert.equal((await docker.getContainer(String(out.state.containerId)).inspect()).State.Running, true);
  });

  test('a digest the registry does not have is IMAGE_PULL_FAILED, and nothing is left', {
    timeout,
  }, async () => {
    const unknown = `${repo}@sha256:${'0'.repeat(64)}`;
    const err = await spawner()
      .start(request('nosuch', unknown))
      .then(
        () => assert.fail('expected a refusal'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof SpawnError && err.code === 'IMAGE_PULL_FAILED', String(err));
    assert.match(err.message, /pulling/);
    const left = await docker.listContainers({
      all: true,
      filters: JSON.stringify({
        label: [`org.berth.deployment=${ns.deploymentId}`, 'org.berth.user=nosuch'],
      }),
    });
    assert.equal(left.length, 0);
  });

  test('with pulls off (pullTimeoutMs 0) a missing image is IMAGE_NOT_FOUND', { timeout }, async () => {
    await docker
      .getImage(pinned)
      .remove({ force: true })
      .catch(() => undefined);
    for (const s of started.splice(0))
      await spawner()
        .stop(s)
        .catch(() => undefined);
    await docker
      .getImage(pinned)
      .remove({ force: true })
      .catch(() => undefined);
    const err = await spawner({ pullTimeoutMs: 0 })
      .start(request('nopull', pinned))
      .then(
        () => assert.fail('expected a refusal'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof SpawnError && err.code === 'IMAGE_NOT_FOUND', String(err));
  });
});

/**
 * Volume lifecycle on user deletion against the real engine: a file written by the user's server survives
 * `archive` (readable in the archive, owner intact) while the home volume is gone; `delete` removes it; `keep`
 * leaves it. Named servers' volumes go the same way; another user's volume is never touched. Removing one named
 * server touches that server's volume only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Dockerode from 'dockerode';
import pino from 'pino';
import { VolumeLifecycle, type VolumePolicy } from '../../servers/volumes.ts';
import { volumeName } from '../names.ts';
import type { SpawnRequest } from '../spawner.ts';
import {
  buildTestImages,
  cleanup,
  createNetwork,
  dockerUnavailable,
  TEST_IMAGES,
  TEST_LABEL,
  testNamespace,
} from '../testing/docker-test-env.ts';
import { DockerSpawner } from './docker-spawner.ts';
import { LABEL_ARCHIVE_OF, LABEL_ARCHIVE_USER } from './home-volumes.ts';

const docker = new Dockerode();
const skip = await dockerUnavailable(docker);
const ns = testNamespace();
let imageId = '';

function spawner(): DockerSpawner {
  return new DockerSpawner({
    docker,
    network: ns.network,
    deploymentId: ns.deploymentId,
    prefix: ns.prefix,
    defaultLimits: { memoryBytes: 128 * 1024 ** 2, nanoCpus: 5e8, pids: 64 },
    tmpfsSize: 16 * 1024 ** 2,
    earlyExitWindowMs: 0,
    helperImage: TEST_IMAGES.sleeper.tag,
  });
}

/** Start the user's server once, which writes `text` into its home volume, then stop it (the volume stays). */
async function serverWrote(user: string, serverName: string, text: string): Promise<string> {
  const s = spawner();
  const req: SpawnRequest = {
    user,
    serverName,
    image: imageId,
    env: { BERTH_TEST_WRITE: text },
    port: 8888,
  };
  const { state } = await s.start(req);
  for (let i = 0; i < 100 && !(await s.logs(state, 20)).includes(`marker=${text}`); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await s.stop(state);
  return volumeName(ns.prefix, user, serverName);
}

/** Reads a file from a volume with a throwaway container: its content and its owner. */
async function readFromVolume(volume: string, path: string): Promise<string> {
  const c = await docker.createContainer({
    Image: imageId,
    User: '1000:100',
    Cmd: ['sh', '-c', `stat -c '%u:%g' /v/${path}; cat /v/${path}`],
    Labels: { [TEST_LABEL]: ns.run },
    HostConfig: {
      NetworkMode: 'none',
      Mounts: [{ Type: 'volume', Source: volume, Target: '/v', ReadOnly: true }],
    },
  });
  try {
    await c.start();
    await c.wait();
    const raw = await c.logs({ stdout: true, stderr: true });
    // strip the 8-byte stream headers
    const out: string[] = [];
    for (let i = 0; i + 8 <= raw.length; ) {
      const len = raw.readUInt32BE(i + 4);
      out.push(raw.subarray(i + 8, i + 8 + len).toString());
      i += 8 + len;
    }
    return out.join('').trim();
  } finally {
    await c.remove({ force: true });
  }
}

const exists = (name: string) =>
  docker
    .getVolume(name)
    .inspect()
    .then(
      () => true,
      () => false,
    );

function lifecycle(policy: VolumePolicy) {
  return new VolumeLifecycle({ spawner: spawner(), policy, log: pino({ level: 'silent' }) });
}

before(async () => {
  if (skip) return;
  await buildTestImages(docker);
  imageId = (await docker.getImage(TEST_IMAGES.sleeper.tag).inspect()).Id;
  await createNetwork(docker, ns);
});

after(async () => {
  if (!skip) await cleanup(docker, ns);
});

describe('home volumes when a user is deleted (real Docker)', { skip, timeout: 180_000 }, () => {
  test('archive: the files survive in a labelled archive volume; the home volumes are gone', async () => {
    const home = await serverWrote('ann', '', 'ann-default');
    const named = await serverWrote('ann', 'gpu', 'ann-named');
    const bystander = await serverWrote('annie', '', 'not-anns');
    const report = await lifecycle('archive').onUserDeleted('ann');
    assert.equal(report.policy, 'archive');
    assert.deepEqual(
      report.volumes.map((v) => [v.volume, v.action]),
      [
        [home, 'archived'],
        [named, 'archived'],
      ],
    );
    assert.equal(await exists(home), false, 'the name is free: a new ann starts empty');
    assert.equal(await exists(named), false);
    for (const v of report.volumes) {
      assert.ok(v.action === 'archived');
      assert.match(v.archive, new RegExp(`^${ns.prefix}-archive-ann(--gpu)?-\\d{8}t\\d{6}z$`));
      const info = await docker.getVolume(v.archive).inspect();
      assert.equal(info.Labels[LABEL_ARCHIVE_OF], v.volume);
      assert.equal(info.Labels[LABEL_ARCHIVE_USER], 'ann');
    }
    const [a, b] = report.volumes.map((v) => (v.action === 'archived' ? v.archive : '')) as [string, string];
    assert.equal(await readFromVolume(a, 'marker'), '1000:100\nann-default', 'content and owner kept');
    assert.equal(await readFromVolume(b, 'marker'), '1000:100\nann-named');
    assert.equal(await readFromVolume(bystander, 'marker'), '1000:100\nnot-anns', "annie's volume untouched");
  });

  test('delete: the home volume is removed and nothing is archived', async () => {
    const home = await serverWrote('bea', '', 'bea-data');
    const report = await lifecycle('delete').onUserDeleted('bea');
    assert.deepEqual(report.volumes, [{ volume: home, action: 'deleted' }]);
    assert.equal(await exists(home), false);
    const archives = await docker.listVolumes({
      filters: JSON.stringify({ label: [`${LABEL_ARCHIVE_USER}=bea`] }),
    });
    assert.equal(archives.Volumes?.length ?? 0, 0);
  });

  test('keep: the home volume stays as it was', async () => {
    const home = await serverWrote('cal', '', 'cal-data');
    const report = await lifecycle('keep').onUserDeleted('cal');
    assert.deepEqual(report.volumes, []);
    assert.equal(await readFromVolume(home, 'marker'), '1000:100\ncal-data');
  });

  test("an admin's per-request choice overrides the configured policy", async () => {
    const home = await serverWrote('dee', '', 'dee-data');
    const report = await lifecycle('keep').onUserDeleted('dee', 'delete');
    assert.equal(report.policy, 'delete');
    assert.equal(await exists(home), false);
  });
  test('a removed named server: only its own volume is archived or deleted; the default one stays', async () => {
    const home = await serverWrote('eve', '', 'eve-default');
    const lab = await serverWrote('eve', 'lab', 'eve-lab');
    const tmp = await serverWrote('eve', 'tmp', 'eve-tmp');
    const archived = await lifecycle('archive').onServerRemoved('eve', 'lab');
    assert.deepEqual(
      archived.volumes.map((v) => [v.volume, v.action]),
      [[lab, 'archived']],
    );
    const first = archived.volumes[0];
    assert.ok(first?.action === 'archived');
    assert.equal(await readFromVolume(first.archive, 'marker'), '1000:100\neve-lab');
    assert.equal(await exists(lab), false);
    const deleted = await lifecycle('archive').onServerRemoved('eve', 'tmp', 'delete');
    assert.deepEqual(deleted.volumes, [{ volume: tmp, action: 'deleted' }]);
    assert.equal(await exists(tmp), false);
    assert.deepEqual((await lifecycle('archive').onServerRemoved('eve', 'lab', 'keep')).volumes, []);
    assert.equal(
      await readFromVolume(home, 'marker'),
      '1000:100\neve-default',
      'the default volume untouched',
    );
  });
});

/**
 * Profiles through the hub against the real Docker engine: a tag in BERTH_SINGLEUSER_IMAGE is pinned to the
 * engine's image id at start, new images are probed and the result shows in the API, and spawn requests that
 * try to choose anything are refused with 400 before Docker hears of them (no event of the deployment).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { DockerImages } from '../spawner/docker/docker-images.ts';
import { DockerSpawner } from '../spawner/docker/docker-spawner.ts';
import {
  buildTestImages,
  cleanup,
  createNetwork,
  dockerUnavailable,
  TEST_IMAGES,
  testImageId,
  testNamespace,
} from '../spawner/testing/docker-test-env.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { issueApiToken } from './tokens.ts';

const docker = new Dockerode();
const skip = await dockerUnavailable(docker);
const ns = testNamespace();
const LAB = 'berth/singleuser:lab';

interface Probe {
  status: string;
  jupyterhub_version: string | null;
  image_id: string | null;
  detail: string;
}

describe('profiles on the real engine', { skip, timeout: 600_000 }, () => {
  let h: Harness;
  let admin: string;
  let alice: string;
  let labId: string;

  const api = (path: string, token: string, init: { method?: string; json?: unknown } = {}) =>
    fetch(`${h.base}/hub/api${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
    });

  /** Polls the profile until its probe is done (it runs in the background). */
  async function probed(name: string): Promise<Probe> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const m = (await (await api(`/profiles/${name}`, admin)).json()) as { image_probe: Probe | null };
      if (m.image_probe && m.image_probe.status !== 'pending') return m.image_probe;
      if (Date.now() > deadline) assert.fail(`probe of ${name} never finished: ${JSON.stringify(m)}`);
      await delay(200);
    }
  }

  before(async () => {
    await buildTestImages(docker);
    await createNetwork(docker, ns);
    labId = (await docker.getImage(LAB).inspect()).Id;
    h = await startHarness({
      spawner: new DockerSpawner({
        docker,
        network: ns.network,
        deploymentId: ns.deploymentId,
        prefix: ns.prefix,
        tmpfsSize: 16 * 1024 ** 2,
      }),
      images: new DockerImages({ docker, deploymentId: ns.deploymentId, prefix: ns.prefix }),
      env: { BERTH_SINGLEUSER_IMAGE: TEST_IMAGES.sleeper.tag },
    });
    await h.addUser('root', 'root-password', true);
    await h.addUser('alice', 'alice-password');
    for (const [name, set] of [
      ['root', (t: string) => (admin = t)],
      ['alice', (t: string) => (alice = t)],
    ] as const) {
      const row = await h.hub.ctx.users.byName(name);
      assert.ok(row);
      set((await issueApiToken(h.hub.ctx, row, {})).token);
    }
  });

  after(async () => {
    await h?.hub.ctx.profiles.probesSettled();
    await h?.close();
    await cleanup(docker, ns);
  });

  it('pins the tag of BERTH_SINGLEUSER_IMAGE to the engine image id at start, and probes it', async () => {
    const d = await h.hub.ctx.profiles.get('default');
    assert.equal(d.spec.image, testImageId('sleeper'));
    const probe = await probed('default');
    assert.equal(probe.status, 'incompatible', 'the sleeper has no jupyterhub-singleuser');
  });

  it('probes an added profile and shows the jupyterhub version in the API', async () => {
    const res = await api('/profiles', admin, { method: 'POST', json: { name: 'lab', image: labId } });
    assert.equal(res.status, 201, await res.text());
    const probe = await probed('lab');
    assert.equal(probe.status, 'compatible', JSON.stringify(probe));
    assert.match(probe.jupyterhub_version ?? '', /^\d+\.\d+/);
    assert.ok(Number(probe.jupyterhub_version?.split('.')[0]) >= 4);
    assert.equal(probe.image_id, labId);
  });

  it('probes again when an edit changes the image', async () => {
    const res = await api('/profiles/lab', admin, { method: 'PATCH', json: { image: testImageId('exit3') } });
    assert.equal(res.status, 200, await res.text());
    const probe = await probed('lab');
    assert.equal(probe.status, 'incompatible', JSON.stringify(probe));
    assert.equal(probe.image_id, testImageId('exit3'));
  });

  it('refuses a profile whose image id the engine does not hold; a digest pin is accepted, to be pulled', async () => {
    const res = await api('/profiles', admin, {
      method: 'POST',
      json: { name: 'ghost', image: `sha256:${'0'.repeat(64)}` },
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /not on the container engine/);
    const digest = await api('/profiles', admin, {
      method: 'POST',
      json: { name: 'later', image: `berth/singleuser@sha256:${'0'.repeat(64)}` },
    });
    assert.equal(digest.status, 201, await digest.text());
  });

  it('refuses spawn requests that choose anything, with 400, and Docker sees no event of the deployment', async () => {
    // Probes of the earlier tests are events of this deployment too: let their last second pass.
    await h.hub.ctx.profiles.probesSettled();
    await delay(2100);
    const since = Math.floor(Date.now() / 1000);
    const bodies: Record<string, unknown> = {
      'an unlisted image': { image: 'evil/miner:1' },
      'the right repository with another digest': { image: `berth/singleuser@sha256:${'0'.repeat(64)}` },
      latest: { image: 'berth/singleuser:latest' },
      privileged: { privileged: true },
      binds: { binds: ['/:/host'] },
      'host network': { network_mode: 'host' },
      env: { env: { LD_PRELOAD: '/tmp/x.so' } },
      cmd: { cmd: ['sh', '-c', 'id'] },
      'user 0': { user: '0' },
      'a profile plus an image': { profile: 'lab', image: labId },
      'a profile that does not exist': { profile: 'no-such-profile' },
    };
    for (const [what, body] of Object.entries(bodies)) {
      for (const path of ['/users/alice/server', '/users/alice/servers/x']) {
        const res = await api(path, alice, { method: 'POST', json: body });
        assert.equal(res.status, 400, `${what} at ${path}: ${res.status}`);
      }
    }
    await delay(1500);
    const until = Math.ceil(Date.now() / 1000) + 1;
    const { stdout } = await promisify(execFile)('docker', [
      'events',
      '--since',
      String(since),
      '--until',
      String(until),
      '--filter',
      `label=org.berth.deployment=${ns.deploymentId}`,
      '--format',
      '{{json .}}',
    ]);
    assert.equal(stdout.trim(), '', `events of this deployment:\n${stdout}`);
    const filters = JSON.stringify({ label: [`org.berth.deployment=${ns.deploymentId}`] });
    assert.deepEqual(await docker.listContainers({ all: true, filters }), []);
  });
});

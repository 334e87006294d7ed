/**
 * The Docker API guard in front of the real engine: the real DockerSpawner passes the Spawner conformance suite
 * through it (per-server networks, egress), and what a compromised hub would try is refused with 403 and leaves
 * no trace in Docker: no container, no volume, no create event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Dockerode from 'dockerode';
import { pack } from 'tar-stream';
import { DockerSpawner } from '../../services/hub/src/spawner/docker/docker-spawner.ts';
import { spawnerConformance } from '../../services/hub/src/spawner/spawner.conformance.ts';
import type { SpawnerState, SpawnRequest } from '../../services/hub/src/spawner/spawner.ts';
import {
  BASE_IMAGE,
  buildTestImages,
  cleanup,
  createNetwork,
  dockerUnavailable,
  TEST_IMAGES,
  TEST_LABEL,
  testImageId,
  testNamespace,
} from '../../services/hub/src/spawner/testing/docker-test-env.ts';
import { runOk } from '../support/exec.ts';
import { startTestGuard, type TestGuard } from '../support/guard.ts';

const docker = new Dockerode();
const skip = await dockerUnavailable(docker);
const ns = testNamespace();
const SERVER_POOL = '10.216.0.0/16';
const EGRESS_POOL = '10.217.0.0/16';
let guard: TestGuard;
let guarded: Dockerode;
let peerId = '';
/** What the spawner sent for container create, as it reached the guard. */
const sent: Dockerode.ContainerCreateOptions[] = [];

/** A Dockerode on the guard's socket that also records the create bodies the spawner sends. */
function recording(client: Dockerode): Dockerode {
  const r = Object.create(client) as Dockerode;
  r.createContainer = (opts: Dockerode.ContainerCreateOptions) => {
    sent.push(JSON.parse(JSON.stringify(opts)) as Dockerode.ContainerCreateOptions);
    return client.createContainer(opts);
  };
  return r;
}

function guardedSpawner(): DockerSpawner {
  return new DockerSpawner({
    docker: recording(guarded),
    network: ns.network,
    deploymentId: ns.deploymentId,
    prefix: ns.prefix,
    defaultLimits: { memoryBytes: 128 * 1024 ** 2, nanoCpus: 5e8, pids: 64 },
    tmpfsSize: 16 * 1024 ** 2,
    serverNetworks: { subnetPool: SERVER_POOL, peers: async () => [{ container: peerId, aliases: ['hub'] }] },
    egress: { subnetPool: EGRESS_POOL },
  });
}

function request(user: string, patch: Partial<SpawnRequest> = {}): SpawnRequest {
  return { user, serverName: '', image: testImageId('sleeper'), env: {}, port: 8888, ...patch };
}

async function isRunning(req: SpawnRequest): Promise<boolean> {
  const filters = JSON.stringify({ label: [`org.berth.deployment=${ns.deploymentId}`], status: ['running'] });
  return (await docker.listContainers({ filters })).some((c) => c.Labels['org.berth.user'] === req.user);
}

before(async () => {
  if (skip) return;
  await buildTestImages(docker);
  await createNetwork(docker, ns);
  guard = await startTestGuard(ns, { server: SERVER_POOL, egress: EGRESS_POOL });
  guarded = guard.client;
  // The hub's stand-in: a Compose service `hub` of this run's project, which joins every server network.
  const peer = await docker.createContainer({
    name: `${ns.prefix}-peer`,
    Image: TEST_IMAGES.sleeper.tag,
    Labels: {
      [TEST_LABEL]: ns.run,
      'com.docker.compose.project': ns.run,
      'com.docker.compose.service': 'hub',
    },
    HostConfig: { NetworkMode: ns.network, Init: true },
  });
  await peer.start();
  peerId = peer.id;
});

after(async () => {
  if (skip) return;
  await guard?.close();
  await cleanup(docker, ns);
});

spawnerConformance(
  'DockerSpawner through the Docker API guard',
  guardedSpawner,
  (id) => request(`conf-${id}`),
  {
    isRunning,
    skip,
    timeoutMs: 120_000,
    abortDelaysMs: [0, 50],
  },
);

/** A tar with one file, as the TLS and archive helpers send. */
async function tarOf(name: string, text: string): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => p.on('end', () => resolve()));
  p.entry({ name, mode: 0o644 }, text);
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** The error dockerode raises for a refused call: status and the guard's JSON message. */
async function refusal(p: Promise<unknown>): Promise<{ statusCode: number; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { statusCode?: number; json?: { message?: string } | null; message: string };
    return { statusCode: e.statusCode ?? 0, message: e.json?.message ?? e.message };
  }
  assert.fail('the call was allowed');
}

async function exists(kind: 'container' | 'volume', name: string): Promise<boolean> {
  const ref = kind === 'container' ? docker.getContainer(name) : docker.getVolume(name);
  return ref.inspect().then(
    () => true,
    (err: { statusCode?: number }) => {
      if (err.statusCode === 404) return false;
      throw err;
    },
  );
}

describe('what a compromised hub tries through the guard', { skip, timeout: 300_000 }, () => {
  let server: SpawnerState;
  let foreignId = '';
  let since = 0;
  const s = () => guardedSpawner();

  before(async () => {
    if (skip) return;
    server = (await s().start(request('victim'))).state;
    const foreign = await docker.createContainer({
      name: `${ns.prefix}-foreign`,
      Image: TEST_IMAGES.sleeper.tag,
      Labels: { [TEST_LABEL]: ns.run },
      HostConfig: { NetworkMode: 'none' },
    });
    await foreign.start();
    foreignId = foreign.id;
    // Docker's event times are whole seconds: start the window after the set-up's last second.
    await new Promise((r) => setTimeout(r, 1100));
    since = Math.floor(Date.now() / 1000);
  });

  /** The spawner's own hardened body for a new name, then `mutate`d. */
  function attack(n: number, mutate: (b: Dockerode.ContainerCreateOptions) => void) {
    const body = JSON.parse(JSON.stringify(sent.at(-1))) as Dockerode.ContainerCreateOptions;
    assert.ok(body.HostConfig, 'a create body was recorded');
    body.name = `${ns.prefix}-evil${n}`;
    mutate(body);
    return body;
  }

  type Body = Dockerode.ContainerCreateOptions;
  const hc = (b: Body) => b.HostConfig as Record<string, unknown> & NonNullable<Body['HostConfig']>;
  const creates: [string, (b: Body) => void, RegExp][] = [
    [
      'a privileged container',
      (b) => {
        hc(b).Privileged = true;
      },
      /privileged/,
    ],
    [
      'privileged in lower case (Docker decodes JSON keys case-insensitively)',
      (b) => {
        hc(b).privileged = true;
      },
      /privileged is refused/,
    ],
    [
      'a host bind',
      (b) => {
        hc(b).Binds = ['/:/host'];
      },
      /host path/,
    ],
    [
      'the Docker socket mounted',
      (b) => {
        hc(b).Mounts?.push({ Type: 'bind', Source: '/var/run/docker.sock', Target: '/var/run/docker.sock' });
      },
      /bind/,
    ],
    [
      'the host network',
      (b) => {
        hc(b).NetworkMode = 'host';
      },
      /network/,
    ],
    [
      'SYS_ADMIN added',
      (b) => {
        hc(b).CapAdd = ['SYS_ADMIN'];
      },
      /capability/,
    ],
    [
      'seccomp unconfined',
      (b) => {
        hc(b).SecurityOpt?.push('seccomp=unconfined');
      },
      /seccomp/,
    ],
    [
      'root',
      (b) => {
        b.User = '0:0';
      },
      /root/,
    ],
    [
      'an unpinned image (a tag)',
      (b) => {
        b.Image = TEST_IMAGES.sleeper.tag;
      },
      /pinned/,
    ],
    [
      "another deployment's labels",
      (b) => {
        b.Labels = { ...b.Labels, 'org.berth.deployment': 'someone-else' };
      },
      /deployment/,
    ],
  ];

  for (const [i, [what, mutate, pattern]] of creates.entries()) {
    test(`refuses ${what} with 403 and creates nothing`, async () => {
      const body = attack(i, mutate);
      const r = await refusal(guarded.createContainer(body));
      assert.equal(r.statusCode, 403, r.message);
      assert.match(r.message, /^berth docker guard: /);
      assert.match(r.message, pattern);
      assert.equal(await exists('container', String(body.name)), false);
    });
  }

  test('refuses a pinned image from a repository that is not allowed', async () => {
    const other = (await docker.getImage(BASE_IMAGE).inspect()).Id;
    const body = attack(90, (b) => {
      b.Image = other;
    });
    const r = await refusal(guarded.createContainer(body));
    assert.equal(r.statusCode, 403);
    assert.match(r.message, /not from an allowed repository/);
    assert.equal(await exists('container', String(body.name)), false);
  });

  test("refuses mounting a volume that is not this deployment's", async () => {
    await docker.createVolume({ Name: `${ns.prefix}-notours`, Labels: { [TEST_LABEL]: ns.run } });
    try {
      const body = attack(91, (b) => {
        b.HostConfig?.Mounts?.push({
          Type: 'volume',
          Source: `${ns.prefix}-notours`,
          Target: '/x',
          ReadOnly: true,
        });
      });
      const r = await refusal(guarded.createContainer(body));
      assert.equal(r.statusCode, 403);
      assert.match(r.message, /not this deployment's/);
      assert.equal(await exists('container', String(body.name)), false);
    } finally {
      await docker.getVolume(`${ns.prefix}-notours`).remove();
    }
  });

  test('a never-started helper carries files to and from Berth volumes only, and never starts', async () => {
    const labels = { 'org.berth.managed': 'true', 'org.berth.deployment': ns.deploymentId };
    const volume = `${ns.prefix}-helpervol`;
    await guarded.createVolume({ Name: volume, Labels: labels });
    const helper = await guarded.createContainer({
      name: `${ns.prefix}-helper`,
      Image: testImageId('sleeper'),
      User: '1000:100',
      Labels: labels,
      NetworkDisabled: true,
      HostConfig: {
        NetworkMode: 'none',
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges:true'],
        Mounts: [{ Type: 'volume', Source: volume, Target: '/files', ReadOnly: false }],
      },
    });
    try {
      const tar = await tarOf('hello.txt', 'hello\n');
      await helper.putArchive(tar, { path: '/files' });
      const back = (await helper.getArchive({
        path: '/files/hello.txt',
      })) as unknown as NodeJS.ReadableStream;
      let got = '';
      for await (const c of back) got += c.toString();
      assert.match(got, /hello/, 'the file came back out of the volume');
      for (const path of ['/etc', '/files/../etc', '/']) {
        const r = await refusal(helper.putArchive(tar, { path }));
        assert.equal(r.statusCode, 403, `${path}: ${r.message}`);
      }
      assert.equal((await refusal(helper.getArchive({ path: '/etc/passwd' }))).statusCode, 403);
      const start = await refusal(helper.start());
      assert.equal(start.statusCode, 403);
      assert.match(start.message, /limits/);
      assert.equal((await docker.getContainer(helper.id).inspect()).State.Status, 'created');
    } finally {
      await helper.remove({ force: true });
      await guarded.getVolume(volume).remove();
    }
  });

  test('refuses exec in a Berth container', async () => {
    const r = await refusal(guarded.getContainer(String(server.containerId)).exec({ Cmd: ['id'] }));
    assert.equal(r.statusCode, 403);
  });

  test("refuses inspect, stop and remove of a container that is not Berth's, which keeps running", async () => {
    const c = guarded.getContainer(foreignId);
    const calls = [
      () => c.inspect(),
      () => c.stop({ t: 1 }),
      () => c.kill(),
      () => c.remove({ force: true }),
      () => c.logs({ stdout: true }),
    ];
    for (const call of calls) {
      const r = await refusal(call() as Promise<unknown>);
      assert.equal(r.statusCode, 403, r.message);
    }
    assert.equal((await docker.getContainer(foreignId).inspect()).State.Running, true);
  });

  test("refuses listing containers without this deployment's labels", async () => {
    assert.equal((await refusal(guarded.listContainers({ all: true }))).statusCode, 403);
    const filters = JSON.stringify({ label: [`${TEST_LABEL}=${ns.run}`] });
    assert.equal((await refusal(guarded.listContainers({ all: true, filters }))).statusCode, 403);
    const ours = await guarded.listContainers({
      all: true,
      filters: JSON.stringify({
        label: ['org.berth.managed=true', `org.berth.deployment=${ns.deploymentId}`],
      }),
    });
    assert.ok(ours.some((c) => c.Id === server.containerId));
  });

  test('refuses a volume that binds a host path, and any volume outside the prefix', async () => {
    const labels = { 'org.berth.managed': 'true', 'org.berth.deployment': ns.deploymentId };
    const bind = `${ns.prefix}-evilvol`;
    const r = await refusal(
      guarded.createVolume({
        Name: bind,
        Labels: labels,
        DriverOpts: { type: 'none', o: 'bind', device: '/' },
      }),
    );
    assert.equal(r.statusCode, 403);
    assert.equal(await exists('volume', bind), false);
    assert.equal(
      (await refusal(guarded.createVolume({ Name: 'pgdata-evil', Labels: labels }))).statusCode,
      403,
    );
    assert.equal(await exists('volume', 'pgdata-evil'), false);
  });

  test("refuses joining a user's server to another network, or a foreign container to a server network", async () => {
    const net = String(server.networkName);
    const r1 = await refusal(guarded.getNetwork(net).connect({ Container: foreignId }));
    assert.equal(r1.statusCode, 403);
    const r2 = await refusal(
      guarded.getNetwork(ns.network).connect({ Container: String(server.containerId) }),
    );
    assert.equal(r2.statusCode, 403);
  });

  test('a pull goes through only by digest and from an allowed repository; tags and imports are refused', async () => {
    const digest = `sha256:${'1'.repeat(64)}`;
    const refused = [
      { fromImage: 'berth-test/sleeper', tag: 'latest' },
      { fromImage: 'evil/miner', tag: digest },
      { fromImage: 'berth-test/sleeper:latest', tag: digest },
      { fromImage: `berth-test/sleeper@${digest}`, tag: digest },
      { fromSrc: 'http://127.0.0.1:1/rootfs.tar', repo: 'berth-test/sleeper', tag: digest },
    ];
    for (const opts of refused) {
      const r = await refusal(guarded.createImage(opts) as Promise<unknown>);
      assert.equal(r.statusCode, 403, `${JSON.stringify(opts)}: ${r.message}`);
    }
    // An allowed repository by digest reaches the engine, which has no registry for it here: its own error, not
    // the guard's 403.
    const passed = await guarded.createImage({ fromImage: 'berth-test/sleeper', tag: digest }).then(
      (stream) =>
        new Promise<string>((resolve) => {
          let text = '';
          stream.on('data', (c: Buffer) => {
            text += c.toString();
          });
          stream.on('end', () => resolve(text));
          stream.on('error', (e: Error) => resolve(e.message));
        }),
      (err: { statusCode?: number; message: string }) => `${err.statusCode}: ${err.message}`,
    );
    assert.doesNotMatch(passed, /^403/, passed);
  });

  test('refuses everything else: images, builds, system, swarm, upgrades', async () => {
    const calls = [
      () => guarded.pull('evil/miner:1'),
      () => guarded.info(),
      () => guarded.listImages(),
      () => guarded.listVolumes(),
      () => guarded.getEvents({}),
      () => guarded.pruneContainers(),
      () =>
        guarded.getContainer(String(server.containerId)).attach({ stream: true, stdout: true, hijack: true }),
    ];
    for (const call of calls) {
      const r = await refusal(call() as Promise<unknown>);
      assert.equal(r.statusCode, 403, r.message);
    }
  });

  test('none of it left a create event in Docker', async () => {
    const until = Math.ceil(Date.now() / 1000) + 1;
    const ev = await runOk('docker', [
      'events',
      '--since',
      String(since),
      '--until',
      String(until),
      '--format',
      '{{json .}}',
      '--filter',
      'event=create',
    ]);
    assert.doesNotMatch(ev.stdout, new RegExp(`${ns.prefix}-evil`), ev.stdout);
    // Only what the tests made on purpose may show up: the foreign volume, and the helper and its volume.
    const mine = ev.stdout.split('\n').filter((l) => l.includes(ns.prefix) && !/-notours|-helper/.test(l));
    assert.deepEqual(mine, [], 'no container, volume or network of this run was created by the attacks');
  });
});

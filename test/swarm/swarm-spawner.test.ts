/**
 * SwarmSpawner against a real swarm: a Docker-in-Docker manager on this machine (test/support/swarm.ts). The
 * shared Spawner conformance suite first, then what only the swarm shows: the hardening on the task's container
 * and from inside it, the home volume, early exits, missing images, placement by node labels, reservations, and
 * internal TLS files delivered as Swarm secrets.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import Dockerode from 'dockerode';
import { containerName, volumeName } from '../../services/hub/src/spawner/names.ts';
import { spawnerConformance } from '../../services/hub/src/spawner/spawner.conformance.ts';
import { SpawnError, type SpawnerState, type SpawnRequest } from '../../services/hub/src/spawner/spawner.ts';
import { swarmClient } from '../../services/hub/src/spawner/swarm/client.ts';
import { SwarmSpawner } from '../../services/hub/src/spawner/swarm/swarm-spawner.ts';
import {
  buildTestImages,
  TEST_IMAGES,
  testImageId,
} from '../../services/hub/src/spawner/testing/docker-test-env.ts';
import { startSwarm, swarmUnavailable, type TestSwarm } from '../support/swarm.ts';

const host = new Dockerode();
const skip = await swarmUnavailable();
const run = randomBytes(3).toString('hex');
const ns = { prefix: `bs${run}`, deploymentId: `berth-swarm-test-${run}`, network: `bs${run}-users` };
const limits = { memoryBytes: 128 * 1024 ** 2, nanoCpus: 25e7, pids: 64 };
const timeout = 120_000;
let swarm: TestSwarm;

function spawner(extra: Partial<ConstructorParameters<typeof SwarmSpawner>[0]> = {}): SwarmSpawner {
  return new SwarmSpawner({
    swarm: swarmClient(swarm.manager.docker),
    network: ns.network,
    deploymentId: ns.deploymentId,
    prefix: ns.prefix,
    defaultLimits: limits,
    tmpfsSize: 16 * 1024 ** 2,
    stopTimeoutSeconds: 2,
    ...extra,
  });
}

function request(user: string, patch: Partial<SpawnRequest> = {}): SpawnRequest {
  return {
    user,
    serverName: '',
    env: { BERTH_TEST_GREETING: `hello ${user}` },
    port: 8888,
    ...patch,
    image: patch.image ?? testImageId('sleeper'),
  };
}

interface Task {
  ServiceID: string;
  DesiredState: string;
  Status: { State: string; ContainerStatus?: { ContainerID?: string } };
}

/** A running task for the request's user and server, found by the service labels, not by spawner state. */
async function isRunning(req: SpawnRequest): Promise<boolean> {
  const filters = JSON.stringify({
    label: [
      `org.berth.deployment=${ns.deploymentId}`,
      `org.berth.user=${req.user}`,
      `org.berth.server=${req.serverName}`,
    ],
  });
  const services = (await swarm.manager.docker.listServices({ filters })) as unknown as { ID: string }[];
  if (services.length === 0) return false;
  const tasks = (await swarm.manager.docker.listTasks({
    filters: JSON.stringify({ service: services.map((s) => s.ID) }),
  })) as Task[];
  return tasks.some((t) => t.Status.State === 'running' && t.DesiredState === 'running');
}

/** The container of a server's running task, on the one node. */
async function containerOf(state: SpawnerState): Promise<Dockerode.Container> {
  const tasks = (await swarm.manager.docker.listTasks({
    filters: JSON.stringify({ service: [String(state.serviceId)], 'desired-state': ['running'] }),
  })) as Task[];
  const id = tasks.find((t) => t.Status.State === 'running')?.Status.ContainerStatus?.ContainerID;
  assert.ok(id, 'a running task with a container');
  return (swarm.nodes[0] as { docker: Dockerode }).docker.getContainer(id);
}

async function exec(c: Dockerode.Container, cmd: string[]): Promise<string> {
  const e = await c.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, User: '1000:100' });
  const stream = await e.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  // Multiplexed frames: 8-byte headers, then the payload.
  const raw = Buffer.concat(chunks);
  let out = '';
  for (let i = 0; i + 8 <= raw.length; ) {
    const len = raw.readUInt32BE(i + 4);
    out += raw.subarray(i + 8, i + 8 + len).toString();
    i += 8 + len;
  }
  return out;
}

async function waitForLogs(s: SwarmSpawner, state: SpawnerState, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const out = await s.logs(state, 100);
    if (pattern.test(out)) return out;
    if (Date.now() > deadline) assert.fail(`logs never matched ${pattern}:\n${out}`);
    await delay(200);
  }
}

before(async () => {
  if (skip) return;
  await buildTestImages(host);
  swarm = await startSwarm({
    nodes: 1,
    images: [TEST_IMAGES.sleeper.tag, TEST_IMAGES.exit3.tag],
    labels: [{ 'berth.zone': 'a' }],
  });
  await swarm.manager.docker.createNetwork({
    Name: ns.network,
    Driver: 'overlay',
    Internal: true,
    Labels: { 'org.berth.test': run },
  });
});

after(async () => {
  await swarm?.close();
});

spawnerConformance(
  'SwarmSpawner',
  () => spawner(),
  (id) => request(`conf-${id}`),
  {
    isRunning,
    skip,
    timeoutMs: timeout,
    abortDelaysMs: [0, 50, 300, 1000],
  },
);

describe('SwarmSpawner on a real swarm', { skip }, () => {
  const started: SpawnerState[] = [];
  let s: SwarmSpawner;
  const start = async (req: SpawnRequest, sp = s) => {
    const result = await sp.start(req);
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

  before(() => {
    s = spawner();
  });

  after(async () => {
    for (const state of started) await s.stop(state).catch(() => undefined);
  });

  test('the task container carries every hardening setting, and shows it from inside', {
    timeout,
  }, async () => {
    const { url, state } = await start(request('Hard.User'));
    const name = containerName(ns.prefix, 'Hard.User', '');
    assert.equal(url, `http://${name}:8888`);
    assert.deepEqual(Object.keys(state).sort(), ['serviceId', 'serviceName', 'volumeName']);
    const info = await (await containerOf(state)).inspect();
    const h = info.HostConfig;
    assert.equal(info.Config.Hostname, name);
    assert.equal(h.ReadonlyRootfs, true);
    assert.deepEqual(h.CapDrop, ['ALL']);
    assert.ok(!h.CapAdd?.length);
    assert.equal(h.Privileged, false);
    assert.equal(info.Config.User, '1000:100');
    assert.equal(h.Memory, limits.memoryBytes);
    assert.equal(h.NanoCpus, limits.nanoCpus);
    assert.equal(h.PidsLimit, limits.pids);
    assert.equal(h.Init, true);
    assert.equal(h.IpcMode, 'private');
    assert.ok(!h.Binds?.length, 'no binds of host paths');
    assert.deepEqual(Object.keys(h.PortBindings ?? {}), []);
    assert.equal(h.LogConfig?.Type, 'json-file');
    assert.equal(h.LogConfig?.Config?.['max-size'], '10m');
    assert.deepEqual(info.Mounts.map((m) => [m.Type, m.Name ?? '', m.Destination, m.RW]).sort(), [
      ['tmpfs', '', '/tmp', true],
      ['volume', volumeName(ns.prefix, 'Hard.User', ''), '/home/jovyan', true],
    ]);
    assert.deepEqual(Object.keys(info.NetworkSettings.Networks), [ns.network]);
    assert.equal(info.Config.Cmd?.at(-1)?.includes('sleep infinity'), true, "the image's own command runs");
    const berth = Object.fromEntries(
      Object.entries(info.Config.Labels ?? {}).filter(([k]) => k.startsWith('org.berth.')),
    );
    assert.deepEqual(berth, {
      'org.berth.managed': 'true',
      'org.berth.deployment': ns.deploymentId,
      'org.berth.user': 'Hard.User',
      'org.berth.server': '',
      'org.berth.port': '8888',
    });
    const out = await waitForLogs(s, state, /marker=/);
    assert.match(out, /^uid=1000 gid=100$/m);
    assert.match(out, /^CapEff: 0{16}$/m);
    assert.match(out, /^NoNewPrivs: 1$/m);
    assert.match(out, /^rootfs=readonly$/m);
    assert.match(out, /^tmp=writable$/m);
    assert.match(out, /^greeting=hello Hard.User$/m);
    const mounts = await exec(await containerOf(state), ['grep', ' /tmp ', '/proc/mounts']);
    assert.match(mounts, /noexec/);
    assert.match(mounts, /nosuid/);
  });

  test('a file written in the home volume survives stop and a new service', { timeout }, async () => {
    const value = `kept-${run}`;
    const first = await start(request('persist', { env: { BERTH_TEST_WRITE: value } }));
    await waitForLogs(s, first.state, new RegExp(`^marker=${value}$`, 'm'));
    await s.stop(first.state);
    const second = await start(request('persist'));
    assert.notEqual(second.state.serviceId, first.state.serviceId);
    await waitForLogs(s, second.state, new RegExp(`^marker=${value}$`, 'm'));
    const vol = await (swarm.nodes[0] as { docker: Dockerode }).docker
      .getVolume(volumeName(ns.prefix, 'persist', ''))
      .inspect();
    assert.equal(vol.Labels?.['org.berth.deployment'], ns.deploymentId);
    assert.equal(vol.Labels?.['org.berth.user'], 'persist');
  });

  test('IMAGE_NOT_FOUND for a pinned image the node does not hold; nothing is left', {
    timeout,
  }, async () => {
    const missing = (await host.getImage('berth/debian:bookworm').inspect()).Id;
    const err = await rejection(s.start(request('no-image', { image: missing })));
    assert.equal(err.code, 'IMAGE_NOT_FOUND', err.message);
    assert.deepEqual(await s.list({ user: 'no-image' }), []);
  });

  test('an unpinned image is refused before the swarm hears of it', { timeout }, async () => {
    const err = await rejection(s.start(request('tagged', { image: TEST_IMAGES.sleeper.tag })));
    assert.equal(err.code, 'IMAGE_MISMATCH');
    assert.deepEqual(await s.list({ user: 'tagged' }), []);
  });

  test('EXITED_EARLY with the exit code; logs() explains; the next start replaces it', {
    timeout,
  }, async () => {
    const err = await rejection(s.start(request('crashy', { image: testImageId('exit3') })));
    assert.equal(err.code, 'EXITED_EARLY', err.message);
    assert.equal(err.state?.exitCode, 3);
    const state = err.state ?? assert.fail('no state');
    assert.deepEqual(await s.status(state), { state: 'stopped', exitCode: 3 });
    assert.equal(await waitForLogs(s, state, /boom/).then((o) => o.trim()), 'boom');
    const again = await start(request('crashy'));
    assert.notEqual(again.state.serviceId, state.serviceId);
    assert.deepEqual(await s.status(again.state), { state: 'running' });
  });

  test('a running server is not started twice', { timeout }, async () => {
    const first = await start(request('twice'));
    const err = await rejection(s.start(request('twice')));
    assert.equal(err.code, 'START_FAILED');
    assert.equal(err.state?.serviceId, first.state.serviceId);
    assert.deepEqual(await s.status(first.state), { state: 'running' });
  });

  test('a same-named service that is not ours is never touched', { timeout }, async () => {
    const name = containerName(ns.prefix, 'intruder', '');
    const foreign = await swarm.manager.docker.createService({
      Name: name,
      Labels: { 'org.berth.test': run },
      TaskTemplate: {
        ContainerSpec: { Image: testImageId('sleeper') },
        RestartPolicy: { Condition: 'none' },
      },
      Mode: { Replicated: { Replicas: 0 } },
    });
    try {
      const err = await rejection(s.start(request('intruder')));
      assert.equal(err.code, 'START_FAILED');
      await s.stop({ serviceId: foreign.id, serviceName: name });
      assert.deepEqual(await s.status({ serviceId: foreign.id }), { state: 'stopped' });
      assert.equal(await s.logs({ serviceId: foreign.id }, 10), '');
      assert.equal(((await foreign.inspect()) as { ID: string }).ID, foreign.id, 'still there');
    } finally {
      await foreign.remove();
    }
  });

  test('list() finds this deployment’s servers for reattach', { timeout }, async () => {
    const { url, state } = await start(request('Lïst User', { serverName: 'gpu' }));
    assert.deepEqual(await s.list({ user: 'Lïst User' }), [
      {
        user: 'Lïst User',
        serverName: 'gpu',
        running: true,
        url,
        state: { serviceId: state.serviceId, serviceName: state.serviceName, volumeName: state.volumeName },
      },
    ]);
    const other = spawner({ deploymentId: `${ns.deploymentId}-other` });
    assert.deepEqual(await other.list(), []);
    assert.deepEqual(await other.status(state), { state: 'stopped' }, 'another deployment sees nothing');
  });

  test('placement: node labels the profile asks for steer the task; no node fits, no server', {
    timeout,
  }, async () => {
    const here = await start(request('zone-a', { placement: { nodeLabels: { 'berth.zone': 'a' } } }));
    assert.deepEqual(await s.status(here.state), { state: 'running' });
    const impatient = spawner({ scheduleTimeoutMs: 3000 });
    const err = await rejection(
      impatient.start(request('zone-b', { placement: { nodeLabels: { 'berth.zone': 'b' } } })),
    );
    assert.equal(err.code, 'START_FAILED');
    assert.match(err.message, /no suitable node/);
    assert.deepEqual(await s.list({ user: 'zone-b' }), []);
  });

  test('reservations reach the scheduler: more than any node has is never placed', { timeout }, async () => {
    const ok = await start(request('reserved', { reservations: { memoryBytes: 64 * 1024 ** 2 } }));
    const spec = (await swarm.manager.docker.getService(String(ok.state.serviceId)).inspect()) as {
      Spec: { TaskTemplate: { Resources: { Reservations: { MemoryBytes?: number } } } };
    };
    assert.equal(spec.Spec.TaskTemplate.Resources.Reservations.MemoryBytes, 64 * 1024 ** 2);
    const huge = spawner({ scheduleTimeoutMs: 3000, defaultLimits: { ...limits, memoryBytes: 1024 ** 4 } });
    const err = await rejection(huge.start(request('greedy', { reservations: { memoryBytes: 1024 ** 4 } })));
    assert.match(err.message, /insufficient resources/);
  });

  test('internal TLS: key, certificate and client CA arrive as read-only secret files', {
    timeout,
  }, async () => {
    const files = { keyPem: `key-${run}\n`, certPem: `cert-${run}\n`, clientCaPem: `ca-${run}\n` };
    const issued: string[][] = [];
    const tls = spawner({
      internalTls: {
        issue: async (req) => {
          issued.push([...req.hostnames]);
          return files;
        },
      },
    });
    const { url, state } = await start(request('tls-user'), tls);
    const name = containerName(ns.prefix, 'tls-user', '');
    assert.equal(url, `https://${name}:8888`);
    assert.deepEqual(issued, [[name]]);
    const c = await containerOf(state);
    const env = (await c.inspect()).Config.Env;
    assert.ok(env.includes('JUPYTERHUB_SSL_KEYFILE=/etc/berth/tls/server.key'));
    assert.equal(await exec(c, ['cat', '/etc/berth/tls/server.key']), files.keyPem);
    assert.equal(await exec(c, ['cat', '/etc/berth/tls/server.crt']), files.certPem);
    assert.equal(await exec(c, ['cat', '/etc/berth/tls/client-ca.pem']), files.clientCaPem);
    assert.equal(
      await exec(c, ['stat', '-c', '%a %u:%g', '/etc/berth/tls/server.key', '/etc/berth/tls/server.crt']),
      '400 1000:100\n444 1000:100\n',
    );
    assert.match(
      await exec(c, ['sh', '-c', 'echo x > /etc/berth/tls/server.key 2>&1 || echo refused']),
      /refused/,
    );
    const secrets = () =>
      swarm.manager.docker.listSecrets({
        filters: JSON.stringify({ label: [`org.berth.service=${name}`] }),
      }) as unknown as Promise<unknown[]>;
    assert.equal((await secrets()).length, 3);
    // A second start of the running server is refused and takes nothing of the first one with it.
    assert.equal((await rejection(tls.start(request('tls-user')))).code, 'START_FAILED');
    assert.equal((await secrets()).length, 3);
    assert.equal(await exec(c, ['cat', '/etc/berth/tls/server.crt']), files.certPem);
    await tls.stop(state);
    assert.deepEqual(await secrets(), [], 'stop removes the secrets');
  });
});

describe('SwarmSpawner with an unreachable manager', () => {
  const gone = new SwarmSpawner({
    swarm: swarmClient(new Dockerode({ socketPath: '/nonexistent/docker.sock' })),
    network: 'users',
    deploymentId: 'nowhere',
  });
  const state = { serviceId: 'a'.repeat(25), serviceName: 'berth-alice', volumeName: 'berth-home-alice' };

  test('status is unknown, never stopped', async () => {
    assert.equal((await gone.status(state)).state, 'unknown');
  });

  test('start rejects BACKEND_UNAVAILABLE', async () => {
    await assert.rejects(gone.start(request('alice', { image: `sha256:${'b'.repeat(64)}` })), {
      name: 'SpawnError',
      code: 'BACKEND_UNAVAILABLE',
    });
  });

  test('stop rejects BACKEND_UNAVAILABLE rather than pretending it stopped', async () => {
    await assert.rejects(gone.stop(state), { name: 'SpawnError', code: 'BACKEND_UNAVAILABLE' });
  });
});

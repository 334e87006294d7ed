/**
 * The Docker API guard in front of a swarm manager (a Docker-in-Docker swarm on this machine): the real
 * SwarmSpawner passes the Spawner conformance suite through it, and what a compromised hub would try against
 * the swarm is refused with 403 and leaves nothing behind: no service, no secret.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import Dockerode from 'dockerode';
import { createLogger } from '../../services/docker-guard/src/log.ts';
import { type GuardServer, startGuard } from '../../services/docker-guard/src/server.ts';
import { spawnerConformance } from '../../services/hub/src/spawner/spawner.conformance.ts';
import type { SpawnRequest } from '../../services/hub/src/spawner/spawner.ts';
import { swarmClient } from '../../services/hub/src/spawner/swarm/client.ts';
import { SwarmSpawner } from '../../services/hub/src/spawner/swarm/swarm-spawner.ts';
import {
  buildTestImages,
  TEST_IMAGES,
  testImageId,
} from '../../services/hub/src/spawner/testing/docker-test-env.ts';
import { nodeSocket, startSwarm, swarmUnavailable, type TestSwarm } from '../support/swarm.ts';

const host = new Dockerode();
const skip = await swarmUnavailable();
const run = randomBytes(3).toString('hex');
const ns = { prefix: `bg${run}`, deploymentId: `berth-guard-swarm-${run}`, network: `bg${run}-users` };
const timeout = 120_000;
let swarm: TestSwarm;
let socket: { path: string; close(): Promise<void> };
let guard: GuardServer;
let guarded: Dockerode;

const labels = (user: string) => ({
  'org.berth.managed': 'true',
  'org.berth.deployment': ns.deploymentId,
  'org.berth.user': user,
  'org.berth.server': '',
});

function request(user: string): SpawnRequest {
  return { user, serverName: '', image: testImageId('sleeper'), env: {}, port: 8888 };
}

/** A service as the spawner would make it, for the attacks to change one thing at a time. */
function service(
  user: string,
): Dockerode.ServiceSpec & { TaskTemplate: { ContainerSpec: Record<string, unknown> } } {
  return {
    Name: `${ns.prefix}-${user}`,
    Labels: labels(user),
    TaskTemplate: {
      ContainerSpec: {
        Image: testImageId('sleeper'),
        Labels: labels(user),
        User: '1000:100',
        ReadOnly: true,
        CapabilityDrop: ['ALL'],
      },
      Resources: { Limits: { MemoryBytes: 64 * 1024 ** 2, NanoCPUs: 1e8, Pids: 32 } },
      RestartPolicy: { Condition: 'none' },
      Networks: [{ Target: ns.network }],
    },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: { Mode: 'dnsrr' },
  };
}

async function serviceNames(): Promise<string[]> {
  const all = (await swarm.manager.docker.listServices()) as unknown as { Spec: { Name: string } }[];
  return all.map((s) => s.Spec.Name);
}

before(async () => {
  if (skip) return;
  await buildTestImages(host);
  swarm = await startSwarm({ nodes: 1, images: [TEST_IMAGES.sleeper.tag, TEST_IMAGES.exit3.tag] });
  await swarm.manager.docker.createNetwork({ Name: ns.network, Driver: 'overlay', Internal: true });
  socket = await nodeSocket(swarm.manager);
  const dir = socket.path.replace(/docker\.sock$/, '');
  guard = await startGuard(
    {
      listen: `${dir}guard.sock`,
      dockerSocket: socket.path,
      deploymentId: ns.deploymentId,
      prefix: ns.prefix,
      imageRepositories: ['berth-test/sleeper', 'berth-test/exit3'],
      dataVolumes: [],
      usersNetwork: ns.network,
      serverSubnetPool: '10.216.0.0/16',
      egressSubnetPool: '10.217.0.0/16',
      peerServices: [],
      socketMode: 0o600,
      logLevel: 'silent',
    },
    createLogger('silent'),
  );
  guarded = new Dockerode({ socketPath: guard.socketPath });
});

after(async () => {
  await guard?.close();
  await socket?.close();
  await swarm?.close();
});

spawnerConformance(
  'SwarmSpawner through the Docker API guard',
  () =>
    new SwarmSpawner({
      swarm: swarmClient(guarded),
      network: ns.network,
      deploymentId: ns.deploymentId,
      prefix: ns.prefix,
      defaultLimits: { memoryBytes: 128 * 1024 ** 2, nanoCpus: 25e7, pids: 64 },
      tmpfsSize: 16 * 1024 ** 2,
      stopTimeoutSeconds: 2,
      internalTls: {
        // The secrets path through the guard, with stand-in files (the real issuer is tested elsewhere).
        issue: async () => ({ keyPem: 'key\n', certPem: 'cert\n', clientCaPem: 'ca\n' }),
      },
    }),
  (id) => request(`conf-${id}`),
  { skip, timeoutMs: timeout, abortDelaysMs: [0, 300] },
);

describe('what a compromised hub tries against the swarm', { skip }, () => {
  const refusedCreate = async (spec: Dockerode.ServiceSpec, pattern: RegExp) => {
    const before = await serviceNames();
    await assert.rejects(guarded.createService(spec), (err: { statusCode?: number; message: string }) => {
      assert.equal(err.statusCode, 403, err.message);
      assert.match(err.message, pattern);
      return true;
    });
    assert.deepEqual(await serviceNames(), before, 'no service was created');
  };

  test('a service that mounts the node’s root, runs as root, keeps capabilities or publishes a port', {
    timeout,
  }, async () => {
    const bind = service('a1');
    bind.TaskTemplate.ContainerSpec.Mounts = [{ Type: 'bind', Source: '/', Target: '/host' }];
    await refusedCreate(bind, /host paths/);
    const driver = service('a2');
    driver.TaskTemplate.ContainerSpec.Mounts = [
      {
        Type: 'volume',
        Source: `${ns.prefix}-home-a2`,
        Target: '/home/jovyan',
        VolumeOptions: {
          Labels: labels('a2'),
          DriverConfig: { Name: 'local', Options: { o: 'bind', device: '/' } },
        },
      },
    ];
    await refusedCreate(driver, /driver configs/);
    const root = service('a3');
    root.TaskTemplate.ContainerSpec.User = '0:0';
    await refusedCreate(root, /no root/);
    const caps = service('a4');
    caps.TaskTemplate.ContainerSpec.CapabilityAdd = ['SYS_ADMIN'];
    await refusedCreate(caps, /capability/);
    await refusedCreate(
      { ...service('a5'), EndpointSpec: { Ports: [{ TargetPort: 8888, PublishedPort: 8888 }] } },
      /published ports/,
    );
  });

  test('a service on every node, restarted forever, or on a network that is not the deployment’s', {
    timeout,
  }, async () => {
    await refusedCreate({ ...service('b1'), Mode: { Global: {} } }, /one replicated task/);
    const restart = service('b2');
    (restart.TaskTemplate as { RestartPolicy: unknown }).RestartPolicy = { Condition: 'any' };
    await refusedCreate(restart, /RestartPolicy/);
    const ingress = service('b3');
    (ingress.TaskTemplate as { Networks: unknown }).Networks = [{ Target: 'ingress' }];
    await refusedCreate(ingress, /not one of this deployment's server networks/);
  });

  test('another owner’s service and secret: not inspected, listed, read, removed or mounted', {
    timeout,
  }, async () => {
    const foreign = await swarm.manager.docker.createService({
      Name: `foreign-${run}`,
      TaskTemplate: { ContainerSpec: { Image: testImageId('sleeper'), Env: ['SECRET_TOKEN=hunter2'] } },
      Mode: { Replicated: { Replicas: 0 } },
    });
    const secret = (await swarm.manager.docker.createSecret({
      Name: `${ns.prefix}-stolen`,
      Data: Buffer.from('not yours').toString('base64'),
    })) as { id: string };
    try {
      const forbidden = { statusCode: 403 };
      await assert.rejects(guarded.getService(foreign.id).inspect(), forbidden);
      await assert.rejects(guarded.getService(foreign.id).remove(), forbidden);
      await assert.rejects(guarded.getService(foreign.id).logs({ stdout: true, follow: false }), forbidden);
      await assert.rejects(
        guarded.listTasks({ filters: JSON.stringify({ service: [foreign.id] }) }),
        forbidden,
      );
      await assert.rejects(guarded.listTasks(), forbidden, 'every task of the swarm, environments included');
      await assert.rejects(
        guarded.listTasks({ filters: JSON.stringify({ id: ['a'] }) }),
        forbidden,
        'an ID prefix',
      );
      await assert.rejects(guarded.listServices(), forbidden);
      await assert.rejects(guarded.listSecrets(), forbidden);
      await assert.rejects(guarded.getSecret(secret.id).remove(), forbidden);
      const mount = service('c1');
      mount.TaskTemplate.ContainerSpec.Secrets = [
        {
          SecretID: secret.id,
          SecretName: `${ns.prefix}-stolen`,
          File: { Name: '/etc/berth/tls/server.key', UID: '1000', GID: '100', Mode: 0o400 },
        },
      ];
      await refusedCreate(mount, /secret .* is not this deployment's/);
      await assert.rejects(
        guarded.createSecret({
          Name: `${ns.prefix}-x`,
          Labels: { 'org.berth.managed': 'true' },
          Data: 'eA==',
        }),
        forbidden,
      );
      assert.equal(((await foreign.inspect()) as { ID: string }).ID, foreign.id, 'still there');
    } finally {
      await foreign.remove();
      await swarm.manager.docker.getSecret(secret.id).remove();
    }
  });

  test('the swarm itself cannot be changed: join, leave, node updates', { timeout }, async () => {
    await assert.rejects(guarded.swarmLeave({ force: true }), { statusCode: 403 });
    await assert.rejects(guarded.swarmJoin({ RemoteAddrs: ['10.0.0.1:2377'], JoinToken: 'x' }), {
      statusCode: 403,
    });
    const node = guarded.getNode(swarm.manager.nodeId);
    await assert.rejects(node.update({ version: 1, Role: 'manager', Availability: 'active' }), {
      statusCode: 403,
    });
    await assert.rejects(node.remove({ force: true }), { statusCode: 403 });
  });
});

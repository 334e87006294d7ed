/**
 * Servers across a three-node swarm (one manager, two labelled workers, Docker-in-Docker on this machine):
 * profiles' node labels place each server on its node; when a node is lost, the SwarmSpawner reports its
 * servers stopped and the others running, and the lost server starts again on a node that is still there.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import Dockerode from 'dockerode';
import type { SpawnerState, SpawnRequest } from '../../services/hub/src/spawner/spawner.ts';
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
const network = `bn${run}-users`;
let swarm: TestSwarm;
let spawner: SwarmSpawner;

function request(user: string, zone?: string): SpawnRequest {
  return {
    user,
    serverName: '',
    image: testImageId('sleeper'),
    env: {},
    port: 8888,
    ...(zone ? { placement: { nodeLabels: { 'berth.zone': zone } } } : {}),
  };
}

/** The node a server's running task is on. */
async function nodeOf(state: SpawnerState): Promise<string | undefined> {
  const tasks = (await swarm.manager.docker.listTasks({
    filters: JSON.stringify({ service: [String(state.serviceId)], 'desired-state': ['running'] }),
  })) as { NodeID: string }[];
  return tasks[0]?.NodeID;
}

describe('servers across three nodes, and the loss of one', { skip, timeout: 300_000 }, () => {
  before(async () => {
    await buildTestImages(host);
    swarm = await startSwarm({
      nodes: 3,
      images: [TEST_IMAGES.sleeper.tag],
      labels: [{}, { 'berth.zone': 'a' }, { 'berth.zone': 'b' }],
      memoryBytes: 768 * 1024 ** 2,
    });
    await swarm.manager.docker.createNetwork({ Name: network, Driver: 'overlay', Internal: true });
    spawner = new SwarmSpawner({
      swarm: swarmClient(swarm.manager.docker),
      network,
      deploymentId: `berth-node-loss-${run}`,
      prefix: `bn${run}`,
      defaultLimits: { memoryBytes: 64 * 1024 ** 2, nanoCpus: 1e8, pids: 32 },
      tmpfsSize: 1024 ** 2,
      stopTimeoutSeconds: 1,
      // User servers only on workers: the manager keeps the hub's own services.
      constraints: ['node.role==worker'],
    });
  });

  after(async () => {
    await swarm?.close();
  });

  test('placement, node loss, and a new start elsewhere', async () => {
    const [, a, b] = swarm.nodes;
    const alice = await spawner.start(request('alice', 'a'));
    const bob = await spawner.start(request('bob', 'b'));
    const carol = await spawner.start(request('carol'));
    assert.equal(await nodeOf(alice.state), a?.nodeId, 'zone a → worker a');
    assert.equal(await nodeOf(bob.state), b?.nodeId, 'zone b → worker b');
    assert.ok(
      [a?.nodeId, b?.nodeId].includes(await nodeOf(carol.state)),
      'no label: a worker, never the manager',
    );

    await swarm.stopNode(1);
    await swarm.waitForNodeState(1, 'down', 90_000);
    assert.deepEqual(await spawner.status(alice.state), { state: 'stopped' }, "the lost node's server");
    assert.deepEqual(await spawner.status(bob.state), { state: 'running' }, 'the other node keeps serving');
    const listed = new Map((await spawner.list()).map((s) => [s.user, s.running]));
    assert.equal(listed.get('alice'), false);
    assert.equal(listed.get('bob'), true);

    // What the hub does with a server found stopped: stop (clean up), then the user starts it again.
    await spawner.stop(alice.state);
    assert.deepEqual(await spawner.list({ user: 'alice' }), []);
    const again = await spawner.start(request('alice'));
    assert.equal(await nodeOf(again.state), b?.nodeId, 'the only worker left');
    assert.deepEqual(await spawner.status(again.state), { state: 'running' });
  });
});

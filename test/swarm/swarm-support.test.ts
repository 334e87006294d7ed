/**
 * test/support/swarm.ts on this machine: two Docker-in-Docker engines form a swarm (one manager, one worker),
 * an image of the host engine reaches both with the same ID, node labels steer placement, and close() leaves
 * nothing of the swarm in the host engine.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import Dockerode from 'dockerode';
import {
  buildTestImages,
  TEST_IMAGES,
  testImageId,
} from '../../services/hub/src/spawner/testing/docker-test-env.ts';
import { SWARM_TEST_LABEL, startSwarm, swarmUnavailable, type TestSwarm } from '../support/swarm.ts';

const host = new Dockerode();
const skip = await swarmUnavailable();

describe('a test swarm of two Docker-in-Docker nodes', { skip, timeout: 300_000 }, () => {
  let swarm: TestSwarm;

  before(async () => {
    await buildTestImages(host);
    swarm = await startSwarm({
      nodes: 2,
      images: [TEST_IMAGES.sleeper.tag],
      labels: [{}, { 'berth.zone': 'b' }],
    });
  });

  after(async () => {
    await swarm?.close();
  });

  test('one manager and one worker, both ready, the worker labelled', async () => {
    const nodes = (await swarm.manager.docker.listNodes()) as {
      ID: string;
      Spec: { Role: string; Labels?: Record<string, string> };
      Status: { State: string };
    }[];
    const byId = new Map(nodes.map((n) => [n.ID, n]));
    const [m, w] = swarm.nodes;
    assert.equal(nodes.length, 2);
    assert.equal(byId.get(m?.nodeId ?? '')?.Spec.Role, 'manager');
    assert.equal(byId.get(w?.nodeId ?? '')?.Spec.Role, 'worker');
    assert.deepEqual(byId.get(w?.nodeId ?? '')?.Spec.Labels, { 'berth.zone': 'b' });
    assert.ok(nodes.every((n) => n.Status.State === 'ready'));
  });

  test('the host image is on every node under the same ID', async () => {
    for (const n of swarm.nodes) {
      assert.equal((await n.docker.getImage(testImageId('sleeper')).inspect()).Id, testImageId('sleeper'));
    }
  });

  test('a service constrained to the label runs on the labelled node', async () => {
    const worker = swarm.nodes[1];
    const service = await swarm.manager.docker.createService({
      Name: 'placed',
      TaskTemplate: {
        ContainerSpec: { Image: testImageId('sleeper'), User: '1000:100', ReadOnly: true },
        Placement: { Constraints: ['node.labels.berth.zone == b'] },
        RestartPolicy: { Condition: 'none' },
      },
      Mode: { Replicated: { Replicas: 1 } },
      EndpointSpec: { Mode: 'dnsrr' },
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const tasks = (await swarm.manager.docker.listTasks({
        filters: JSON.stringify({ service: [service.id] }),
      })) as { NodeID: string; Status: { State: string; Err?: string } }[];
      const t = tasks[0];
      if (t?.Status.State === 'running') {
        assert.equal(t.NodeID, worker?.nodeId);
        break;
      }
      assert.ok(!['failed', 'rejected'].includes(t?.Status.State ?? ''), t?.Status.Err);
      assert.ok(Date.now() < deadline, `task still ${t?.Status.State}`);
      await delay(250);
    }
    await service.remove();
  });

  test('close() removes every node, its volume and the network', async () => {
    const filters = JSON.stringify({ label: [`${SWARM_TEST_LABEL}=${swarm.run}`] });
    const before = await host.listContainers({ all: true, filters });
    assert.equal(before.length, 2);
    const volumes = (await Promise.all(before.map((c) => host.getContainer(c.Id).inspect()))).flatMap((c) =>
      c.Mounts.filter((m) => m.Destination === '/var/lib/docker').map((m) => m.Name ?? ''),
    );
    assert.equal(volumes.length, 2);
    await swarm.close();
    assert.deepEqual(await host.listContainers({ all: true, filters }), []);
    assert.deepEqual(await host.listNetworks({ filters }), []);
    for (const v of volumes) await assert.rejects(host.getVolume(v).inspect(), { statusCode: 404 });
  });
});

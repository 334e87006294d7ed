import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type Dockerode from 'dockerode';
import { sweepCache } from '../../servers/sweep-cache.ts';
import type { DockerClient } from './client.ts';
import { composePeers } from './compose-peers.ts';
import { DockerSpawner } from './docker-spawner.ts';

/**
 * An engine that counts every call. The hub (`hubid`) and the proxy (`proxyid`) are Compose containers already
 * on the three server networks, as they are after the first sweep.
 */
function countingEngine() {
  const calls: string[] = [];
  const networks = { 'bt-alice-net': {}, 'bt-alice--a-net': {}, 'bt-alice--b-net': {} };
  const labels = { 'com.docker.compose.project': 'berth', 'com.docker.compose.service': 'hub' };
  const docker = {
    getContainer: (id: string) => ({
      id,
      inspect: async () => {
        calls.push(`inspect ${id}`);
        return { Id: 'hubid', Config: { Labels: labels }, NetworkSettings: { Networks: networks } };
      },
    }),
    listContainers: async () => {
      calls.push('list');
      return [{ Id: 'proxyid', NetworkSettings: { Networks: networks } }];
    },
    getNetwork: (name: string) => ({
      connect: async () => {
        calls.push(`connect ${name}`);
        throw Object.assign(new Error('endpoint already exists'), { statusCode: 403 });
      },
    }),
    createContainer: async () => {
      throw new Error('not used');
    },
  } as unknown as DockerClient;
  return { docker, calls };
}

const states = ['bt-alice-net', 'bt-alice--a-net', 'bt-alice--b-net'].map((networkName, i) => ({
  containerId: `c${i}`,
  containerName: `c${i}`,
  volumeName: `v${i}`,
  networkName,
}));

function spawner(docker: DockerClient) {
  return new DockerSpawner({
    docker,
    network: 'unused',
    deploymentId: 'bt',
    prefix: 'bt',
    serverNetworks: { peers: composePeers(docker, { hubAliases: ['hub'], services: ['proxy'], self: 'me' }) },
  });
}

describe('reattach during a sweep', () => {
  test('three servers in one sweep: the peers are looked up once, nothing is reconnected', async () => {
    const { docker, calls } = countingEngine();
    const s = spawner(docker);
    const cache = sweepCache();
    for (const st of states) await s.reattach(st, cache);
    assert.deepEqual(calls, ['inspect me', 'list']);
  });

  test('without a sweep (a single reattach) the peers are looked up afresh each time', async () => {
    const { docker, calls } = countingEngine();
    const s = spawner(docker);
    for (const st of states) await s.reattach(st);
    assert.equal(calls.length, 6);
  });

  test('a peer not yet on the network (a recreated proxy) is connected', async () => {
    const { docker, calls } = countingEngine();
    const fresh = {
      ...docker,
      listContainers: async (o: { all: boolean; filters: string }) => {
        await docker.listContainers(o);
        return [
          { Id: 'newproxy', NetworkSettings: { Networks: {} } },
        ] as unknown as Dockerode.ContainerInfo[];
      },
    } as DockerClient;
    const s = spawner(fresh);
    await s.reattach(states[0] as (typeof states)[0], sweepCache());
    assert.deepEqual(calls, ['inspect me', 'list', 'connect bt-alice-net']);
  });
});

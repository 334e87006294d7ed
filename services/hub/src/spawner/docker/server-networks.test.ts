/**
 * Per-server networks on a real engine: each server on its own internal network that only its peers (the
 * proxy and the hub) join, so one user's server cannot reach another's. Reachability is told apart from a
 * closed port by the answer: a refused connection came back from the host; a blocked one times out.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { networkName } from '../names.ts';
import { spawnerConformance } from '../spawner.conformance.ts';
import type { SpawnerState, SpawnRequest } from '../spawner.ts';
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
import { DockerSpawner } from './docker-spawner.ts';
import { candidateSubnets, parsePool } from './server-network.ts';

const exec = promisify(execFile);
const docker = new Dockerode();
const skip = await dockerUnavailable(docker);
const ns = testNamespace();
const timeout = 120_000;
const pool = '10.214.0.0/16';
let peerId = '';

function spawner(): DockerSpawner {
  return new DockerSpawner({
    docker,
    network: ns.network,
    deploymentId: ns.deploymentId,
    prefix: ns.prefix,
    defaultLimits: { memoryBytes: 128 * 1024 ** 2, nanoCpus: 5e8, pids: 64 },
    tmpfsSize: 16 * 1024 ** 2,
    serverNetworks: { subnetPool: pool, peers: async () => [{ container: peerId, aliases: ['hub'] }] },
  });
}

function request(user: string): SpawnRequest {
  return { user, serverName: '', image: testImageId('sleeper'), env: {}, port: 8888 };
}

async function isRunning(req: SpawnRequest): Promise<boolean> {
  const filters = JSON.stringify({ label: [`org.berth.deployment=${ns.deploymentId}`], status: ['running'] });
  const list = await docker.listContainers({ filters });
  return list.some((c) => c.Labels['org.berth.user'] === req.user);
}

/** `refused` (reachable, nothing listens), `blocked` (timed out) or `unresolved`, from inside `container`. */
async function probe(container: string, host: string): Promise<string> {
  const script = [
    `h='${host}'`,
    'case "$h" in *[a-z]*) getent hosts "$h" >/dev/null || { echo unresolved; exit 0; } ;; esac',
    'timeout 2 bash -c "echo > /dev/tcp/$h/1" 2>/dev/null; rc=$?',
    'if [ $rc -eq 0 ]; then echo open; elif [ $rc -eq 124 ]; then echo blocked; else echo refused; fi',
  ].join('\n');
  const { stdout } = await exec('docker', ['exec', container, 'bash', '-c', script]);
  return stdout.trim();
}

async function ipOf(container: string, network: string): Promise<string> {
  const info = await docker.getContainer(container).inspect();
  return info.NetworkSettings.Networks[network]?.IPAddress ?? '';
}

before(async () => {
  if (skip) return;
  await buildTestImages(docker);
  await createNetwork(docker, ns);
  const peer = await docker.createContainer({
    name: `${ns.prefix}-peer`,
    Image: TEST_IMAGES.sleeper.tag,
    Labels: { [TEST_LABEL]: ns.run },
    HostConfig: { NetworkMode: ns.network, Init: true },
  });
  await peer.start();
  peerId = peer.id;
});

after(async () => {
  if (!skip) await cleanup(docker, ns);
});

spawnerConformance('DockerSpawner with per-server networks', spawner, (id) => request(`conf-${id}`), {
  isRunning,
  skip,
  timeoutMs: timeout,
  abortDelaysMs: [0, 50],
});

describe('subnets', () => {
  test('a pool is cut into /28 blocks, starting where the name hashes to', () => {
    assert.deepEqual(parsePool('10.213.0.0/16'), { base: 10 * 2 ** 24 + 213 * 2 ** 16, blocks: 4096 });
    const c = candidateSubnets('10.213.0.0/24', 'berth-alice-net');
    assert.equal(c.length, 16);
    assert.equal(new Set(c).size, 16);
    for (const s of c) assert.match(s, /^10\.213\.0\.\d+\/28$/);
    assert.deepEqual(candidateSubnets('10.213.0.0/24', 'berth-alice-net'), c, 'deterministic');
    assert.throws(() => parsePool('10.0.0.0/29'), /CIDR/);
    assert.throws(() => parsePool('300.0.0.0/16'), /CIDR/);
  });
});

describe('per-server networks on a real engine', { skip }, () => {
  const s = spawner();
  let alice: SpawnerState;
  let bob: SpawnerState;
  const aliceNet = () => networkName(ns.prefix, 'alice', '');

  before(async () => {
    if (skip) return;
    alice = (await s.start(request('alice'))).state;
    bob = (await s.start(request('bob'))).state;
  });

  after(async () => {
    for (const st of [alice, bob]) if (st) await s.stop(st).catch(() => undefined);
  });

  test('each server is alone on its own internal, labelled network, with its peers', {
    timeout,
  }, async () => {
    assert.equal(alice.networkName, aliceNet());
    const info = await docker.getContainer(String(alice.containerId)).inspect();
    assert.deepEqual(Object.keys(info.NetworkSettings.Networks), [aliceNet()]);
    const net = await docker.getNetwork(aliceNet()).inspect();
    assert.equal(net.Internal, true);
    assert.equal(net.Labels?.['org.berth.deployment'], ns.deploymentId);
    assert.match(net.IPAM?.Config?.[0]?.Subnet ?? '', /^10\.214\.\d+\.\d+\/28$/);
    assert.deepEqual(
      Object.keys(net.Containers ?? {}).sort(),
      [String(alice.containerId), peerId].sort(),
      'only the server and its peers',
    );
  });

  test("a server reaches its peers by alias, but not another user's server", { timeout }, async () => {
    const a = String(alice.containerId);
    assert.equal(await probe(a, 'hub'), 'refused', 'the hub alias resolves and answers');
    const bobName = String(bob.containerName);
    assert.equal(await probe(a, bobName), 'unresolved', "bob's name is unknown on alice's network");
    const bobIp = await ipOf(String(bob.containerId), networkName(ns.prefix, 'bob', ''));
    assert.ok(bobIp);
    assert.equal(await probe(a, bobIp), 'blocked', "bob's address is unreachable");
    assert.equal(await probe(peerId, bobIp), 'refused', 'the peer reaches bob');
  });

  test('reattach reconnects a peer that lost the network (a recreated proxy)', { timeout }, async () => {
    await docker.getNetwork(aliceNet()).disconnect({ Container: peerId, Force: true });
    assert.equal(await ipOf(peerId, aliceNet()), '');
    await s.reattach(alice);
    await s.reattach(alice);
    assert.ok(await ipOf(peerId, aliceNet()), 'connected again, and twice is fine');
  });

  test('list() reports the network; stop removes it, and the peer leaves it', { timeout }, async () => {
    const [found] = await s.list({ user: 'alice' });
    assert.equal(found?.state.networkName, aliceNet());
    await s.stop(alice);
    await assert.rejects(docker.getNetwork(aliceNet()).inspect(), { statusCode: 404 });
    await s.stop(alice);
    const again = (await s.start(request('alice'))).state;
    alice = again;
    assert.equal(await probe(String(again.containerId), 'hub'), 'refused', 'a new start makes it again');
  });
});

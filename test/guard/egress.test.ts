/**
 * Egress, proven from inside real user containers spawned through the Docker API guard, with the host firewall
 * rules installed by the same code the `firewall` service runs (berth-firewall install): a server whose profile
 * allows outbound internet reaches a public host, but not cloud metadata, not another container, not a service on
 * the host and not another server; a server without it reaches nothing outside. A container outside Berth's
 * ranges reaches the same host service, so "blocked" is the rules' doing, not the test's.
 *
 * Needs root (it changes the host's iptables, in chains of its own that it removes afterwards) and the internet
 * (deb.debian.org); skipped with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe, test } from 'node:test';
import Dockerode from 'dockerode';
import {
  type FirewallConfig,
  installFirewall,
  nameservers,
  removeFirewall,
  systemIptables,
  verifyFirewall,
} from '../../services/docker-guard/src/firewall.ts';
import { DockerSpawner } from '../../services/hub/src/spawner/docker/docker-spawner.ts';
import type { SpawnerState } from '../../services/hub/src/spawner/spawner.ts';
import {
  buildTestImages,
  cleanup,
  createNetwork,
  dockerUnavailable,
  TEST_IMAGES,
  TEST_LABEL,
  testImageId,
  testNamespace,
} from '../../services/hub/src/spawner/testing/docker-test-env.ts';
import { run } from '../support/exec.ts';
import { startTestGuard, type TestGuard } from '../support/guard.ts';

const docker = new Dockerode();
const ns = testNamespace();
const SERVER_POOL = '10.218.0.0/16';
const EGRESS_POOL = '10.219.0.0/16';
const NODE_IMAGE = 'berth/node:22';

async function why(): Promise<string | false> {
  const noDocker = await dockerUnavailable(docker);
  if (noDocker) return noDocker;
  if (process.getuid?.() !== 0) return 'changing the host firewall needs root';
  if (!(await systemIptables.run(['-S', 'DOCKER-USER']).catch(() => undefined))) {
    return 'no iptables with a DOCKER-USER chain on this host';
  }
  if (
    !(await docker
      .getImage(NODE_IMAGE)
      .inspect()
      .catch(() => undefined))
  )
    return `${NODE_IMAGE} is missing`;
  const online = await lookup('deb.debian.org').catch(() => undefined);
  return online ? false : 'deb.debian.org does not resolve here (no internet)';
}
const skip = await why();

const fw: FirewallConfig = {
  chainPrefix: `BT_${ns.run.toUpperCase()}`.slice(0, 19),
  egressSubnetPool: EGRESS_POOL,
  serverSubnetPool: SERVER_POOL,
  dnsServers: nameservers(readFileSync('/etc/resolv.conf', 'utf8')).filter((a) => !a.startsWith('127.')),
  extraBlocked: [],
};

/** `open`, `blocked` (no answer: dropped) or `error …` (e.g. refused, no route), from inside `container`. */
async function probe(container: string, host: string, port: number): Promise<string> {
  const script = [
    'out=$(timeout 4 bash -c \'exec 3<>"/dev/tcp/$0/$1"\' "$1" "$2" 2>&1); rc=$?',
    'if [ $rc -eq 0 ]; then echo open; elif [ $rc -eq 124 ]; then echo blocked; else echo "error $out"; fi',
  ].join('\n');
  const r = await run('docker', ['exec', container, 'bash', '-c', script, 'probe', host, String(port)], {
    timeoutMs: 30_000,
  });
  return r.stdout.trim();
}

/** The status line of `HEAD /` on deb.debian.org over plain HTTP, or the error. */
async function httpStatus(container: string): Promise<string> {
  const script = [
    'exec 3<>/dev/tcp/deb.debian.org/80 || exit 7',
    'printf "HEAD / HTTP/1.1\\r\\nHost: deb.debian.org\\r\\nConnection: close\\r\\n\\r\\n" >&3',
    'head -n1 <&3',
  ].join('\n');
  const r = await run('docker', ['exec', container, 'timeout', '20', 'bash', '-c', script], {
    timeoutMs: 40_000,
  });
  return `${r.stdout.trim()} ${r.stderr.trim()}`.trim();
}

function hostAddress(): string {
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (name === 'lo' || name.startsWith('docker') || name.startsWith('br-') || name.startsWith('veth'))
      continue;
    const v4 = addrs?.find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) return v4.address;
  }
  throw new Error('the host has no external IPv4 address');
}

describe('egress from inside user containers', { skip, timeout: 600_000 }, () => {
  let guard: TestGuard;
  let listener: Server;
  let listenPort = 0;
  let victim = '';
  let victimIp = '';
  let victimHostPort = 0;
  let victimGateway = '';
  const victimNet = `${ns.prefix}-victimnet`;
  const servers: Record<'out1' | 'out2' | 'closed', SpawnerState> = {} as never;
  const idOf = (k: keyof typeof servers) => String(servers[k].containerId);

  before(async () => {
    await buildTestImages(docker);
    await createNetwork(docker, ns);
    await installFirewall(fw);
    guard = await startTestGuard(ns, { server: SERVER_POOL, egress: EGRESS_POOL });
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
    // A service on the host, bound to every address, as many host daemons are.
    listener = createServer((s) => {
      s.on('error', () => undefined); // probes hang up at once
      s.end('hello\n');
    });
    await new Promise<void>((r) => listener.listen(0, '0.0.0.0', r));
    listenPort = (listener.address() as { port: number }).port;
    // Another container with a published port, on an ordinary bridge outside Berth's ranges.
    await docker.createNetwork({ Name: victimNet, Labels: { [TEST_LABEL]: ns.run } });
    const v = await docker.createContainer({
      name: `${ns.prefix}-victim`,
      Image: NODE_IMAGE,
      Labels: { [TEST_LABEL]: ns.run },
      Cmd: ['node', '-e', "require('net').createServer(s=>s.end('victim\\n')).listen(9999)"],
      ExposedPorts: { '9999/tcp': {} },
      HostConfig: {
        NetworkMode: victimNet,
        PortBindings: { '9999/tcp': [{ HostIp: '0.0.0.0', HostPort: '' }] },
      },
    });
    await v.start();
    victim = v.id;
    const vi = await v.inspect();
    victimIp = vi.NetworkSettings.Networks[victimNet]?.IPAddress ?? '';
    victimGateway = vi.NetworkSettings.Networks[victimNet]?.Gateway ?? '';
    victimHostPort = Number(vi.NetworkSettings.Ports['9999/tcp']?.[0]?.HostPort);
    const spawner = new DockerSpawner({
      docker: guard.client,
      network: ns.network,
      deploymentId: ns.deploymentId,
      prefix: ns.prefix,
      defaultLimits: { memoryBytes: 128 * 1024 ** 2, nanoCpus: 5e8, pids: 64 },
      tmpfsSize: 16 * 1024 ** 2,
      serverNetworks: {
        subnetPool: SERVER_POOL,
        peers: async () => [{ container: peer.id, aliases: ['hub'] }],
      },
      egress: { subnetPool: EGRESS_POOL },
    });
    const req = (user: string, egress: boolean) => ({
      user,
      serverName: '',
      image: testImageId('sleeper'),
      env: {},
      port: 8888,
      egress,
    });
    servers.out1 = (await spawner.start(req('out1', true))).state;
    servers.out2 = (await spawner.start(req('out2', true))).state;
    servers.closed = (await spawner.start(req('closed', false))).state;
  });

  after(async () => {
    if (skip) return;
    await removeFirewall(fw).catch(() => undefined);
    listener?.close();
    await guard?.close();
    await cleanup(docker, ns);
    await docker
      .getNetwork(victimNet)
      .remove()
      .catch(() => undefined);
  });

  test('the firewall rules are in place as written', async () => {
    assert.deepEqual(await verifyFirewall(fw), { ok: true });
  });

  test('control: outside Berth, the host service and the published port are reachable', async () => {
    assert.equal(
      await probe(victim, victimGateway, listenPort),
      'open',
      'the host service from another container',
    );
    assert.equal(
      await probe(victim, victimGateway, victimHostPort),
      'open',
      'the published port via the host',
    );
  });

  test('a server with egress reaches the internet', async () => {
    assert.match(await httpStatus(idOf('out1')), /^HTTP\/1\.[01] [23]\d\d/);
  });

  test('a server with egress reaches no private address, no metadata, no host service, no other server', async () => {
    const out2 = await docker.getContainer(idOf('out2')).inspect();
    const onEgress = out2.NetworkSettings.Networks[`${ns.prefix}-egress`];
    const egressGateway = onEgress?.Gateway ?? '';
    const out2Ip = onEgress?.IPAddress ?? '';
    assert.ok(egressGateway && out2Ip, 'the egress network has a gateway and out2 an address on it');
    const targets: [string, string, number][] = [
      ['cloud metadata', '169.254.169.254', 80],
      ['ECS metadata', '169.254.170.2', 80],
      ['the host service via the egress gateway', egressGateway, listenPort],
      ['the host service via docker0', '172.17.0.1', listenPort],
      ["the host service via the host's own address", hostAddress(), listenPort],
      ['a published port via the host', victimGateway, victimHostPort],
      ["another container's address", victimIp, 9999],
      ["another egress server's address", out2Ip, 1],
    ];
    for (const [what, host, port] of targets) {
      assert.equal(await probe(idOf('out1'), host, port), 'blocked', `${what} (${host}:${port})`);
    }
    assert.doesNotMatch(await probe(idOf('out1'), 'fd00:ec2::254', 80), /^open/, 'IPv6 metadata');
  });

  test('a server without egress reaches nothing outside, and not the host', async () => {
    assert.doesNotMatch(await httpStatus(idOf('closed')), /HTTP\//);
    const publicIp = (await lookup('deb.debian.org', { family: 4 })).address;
    assert.doesNotMatch(
      await probe(idOf('closed'), publicIp, 80),
      /^open/,
      `deb.debian.org by address (${publicIp})`,
    );
    const own = await docker.getContainer(idOf('closed')).inspect();
    const nets = Object.keys(own.NetworkSettings.Networks);
    assert.deepEqual(nets, [String(servers.closed.networkName)], 'only its own network');
    const gw = own.NetworkSettings.Networks[nets[0] ?? '']?.Gateway ?? '';
    for (const [what, host, port] of [
      ['cloud metadata', '169.254.169.254', 80],
      ['the host service via its network gateway', gw, listenPort],
      ['the host service via docker0', '172.17.0.1', listenPort],
    ] as const) {
      assert.doesNotMatch(await probe(idOf('closed'), host, port), /^open/, `${what} (${host}:${port})`);
    }
  });
});

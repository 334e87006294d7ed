/**
 * A Docker Swarm on this machine, for tests: N Docker engines in their own containers (berth/dind, Debian's
 * docker.io, built by images/build-offline.sh), on one user-defined network of the host engine, one manager (or
 * as many as asked) and the rest workers. Each engine's API is published on 127.0.0.1 only. Images are copied in from the host engine
 * (`docker save | docker load`: there is no registry), nodes get labels, and `close()` removes every container,
 * volume and network the swarm was made of, even after a failed start.
 *
 * The nodes do not run --privileged: some hosts' engines cannot grant every capability (runc then refuses to
 * start a privileged container), so a node gets every capability but CAP_SYS_RESOURCE, no seccomp or AppArmor
 * profile and unmasked /proc, and its entrypoint makes the cgroup filesystems writable. Nothing else of the host
 * is shared: no host paths, no host network.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Dockerode from 'dockerode';
import { runOk } from './exec.ts';

export const DIND_IMAGE = 'berth/dind:20.10';
/** On everything the swarm is made of in the host engine. */
export const SWARM_TEST_LABEL = 'org.berth.test.swarm';

export interface SwarmNode {
  /** Container name in the host engine, also the node's hostname. */
  readonly name: string;
  readonly containerId: string;
  /** The node's engine, through its 127.0.0.1 port. */
  readonly docker: Dockerode;
  /** The published API address, e.g. tcp://127.0.0.1:32771 (for the docker CLI's -H). */
  readonly host: string;
  /** The node's address on the swarm network. */
  readonly address: string;
  /** Its swarm node ID. */
  readonly nodeId: string;
  readonly role: 'manager' | 'worker';
}

export interface SwarmOptions {
  /** How many engines; the first is the manager. Default 1. */
  readonly nodes?: number;
  /** Images of the host engine to load into every node (tags or IDs; IDs stay the same). */
  readonly images?: readonly string[];
  /** More images for some nodes only, by node index (e.g. Berth's own services for the manager). */
  readonly nodeImages?: readonly (readonly string[])[];
  /** Node labels, by node index. */
  readonly labels?: readonly Readonly<Record<string, string>>[];
  /** How many of the nodes are managers (the first ones); the rest are workers. Default 1. */
  readonly managers?: number;
  /** Memory limit of each node's container, bytes. Default 1 GiB. */
  readonly memoryBytes?: number;
}

export interface TestSwarm {
  readonly run: string;
  /** The host engine's network the nodes are on. */
  readonly network: string;
  readonly nodes: readonly SwarmNode[];
  readonly manager: SwarmNode;
  /** Stops a node's container (its engine goes away, as when a machine fails). */
  stopNode(index: number): Promise<void>;
  /** Waits until the manager reports the node in `state` (e.g. 'down' after stopNode). */
  waitForNodeState(index: number, state: 'ready' | 'down', timeoutMs?: number): Promise<void>;
  /** Removes every node (and its /var/lib/docker volume) and the network. Never throws. */
  close(): Promise<void>;
}

const host = new Dockerode();

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not after ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`);
    }
    await delay(250);
  }
}

/** A skip reason when the host engine or the DinD image is missing; false when a swarm can be started. */
export async function swarmUnavailable(): Promise<string | false> {
  try {
    await host.ping();
  } catch (err) {
    return `Docker is not reachable (${(err as Error).message})`;
  }
  return false;
}

/** Fails with the kit command to run when the DinD image is missing (a test that needs it must not pass silently). */
async function requireDindImage(): Promise<void> {
  try {
    await host.getImage(DIND_IMAGE).inspect();
  } catch {
    throw new Error(`${DIND_IMAGE} is missing: build it with \`bash images/build-offline.sh dind\``);
  }
}

/** Removes what a run left in the host engine, by its label; never throws. */
export async function removeSwarm(run: string): Promise<void> {
  const filters = JSON.stringify({ label: [`${SWARM_TEST_LABEL}=${run}`] });
  const containers = await host.listContainers({ all: true, filters }).catch(() => []);
  await Promise.all(
    containers.map((c) =>
      host
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
  const nets = await host.listNetworks({ filters }).catch(() => []);
  for (const n of nets)
    await host
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
}

async function startNode(run: string, network: string, index: number, memoryBytes: number) {
  const name = `berth-swarm-${run}-n${index}`;
  const container = await host.createContainer({
    name,
    Hostname: name,
    Image: DIND_IMAGE,
    Labels: { [SWARM_TEST_LABEL]: run },
    ExposedPorts: { '2375/tcp': {} },
    HostConfig: {
      NetworkMode: network,
      PortBindings: { '2375/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
      CapAdd: ['ALL'],
      CapDrop: ['SYS_RESOURCE'],
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      // `--security-opt systempaths=unconfined`: nothing of /proc and /sys masked or read-only.
      MaskedPaths: [],
      ReadonlyPaths: [],
      Memory: memoryBytes,
      MemorySwap: memoryBytes,
      Init: false,
    },
  });
  await container.start();
  const info = await container.inspect();
  const port = info.NetworkSettings.Ports['2375/tcp']?.[0]?.HostPort;
  const address = info.NetworkSettings.Networks[network]?.IPAddress;
  if (!port || !address) throw new Error(`node ${name} has no published port or address`);
  const docker = new Dockerode({ host: '127.0.0.1', port: Number(port), protocol: 'http' });
  await until(`engine of ${name} answers`, 60_000, async () => ((await docker.ping()) ? true : undefined));
  return { name, containerId: container.id, docker, host: `tcp://127.0.0.1:${port}`, address };
}

/** `docker save` once into a file, then `docker load` it into every node (IDs stay the same). */
async function loadImages(nodes: readonly { docker: Dockerode }[], images: readonly string[]): Promise<void> {
  if (images.length === 0 || nodes.length === 0) return;
  const dir = await mkdtemp(join(tmpdir(), 'berth-swarm-images-'));
  try {
    const file = join(dir, 'images.tar');
    await runOk('docker', ['save', '-o', file, ...images]);
    await Promise.all(
      nodes.map(async (n) => {
        const out = await n.docker.loadImage(createReadStream(file), { quiet: true });
        await new Promise<void>((resolve, reject) =>
          n.docker.modem.followProgress(out, (err: Error | null, events: { error?: string }[]) => {
            const failed = events?.find((e) => e.error);
            if (err || failed) reject(err ?? new Error(failed?.error));
            else resolve();
          }),
        );
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Starts the nodes, forms the swarm, loads the images and labels the nodes. */
export async function startSwarm(options: SwarmOptions = {}): Promise<TestSwarm> {
  const count = options.nodes ?? 1;
  if (count < 1) throw new Error('a swarm needs at least one node');
  await requireDindImage();
  const run = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
  const network = `berth-swarm-${run}`;
  try {
    await host.createNetwork({ Name: network, Driver: 'bridge', Labels: { [SWARM_TEST_LABEL]: run } });
    const memory = options.memoryBytes ?? 1024 ** 3;
    const started = await Promise.all(
      Array.from({ length: count }, (_, i) => startNode(run, network, i, memory)),
    );
    const first = started[0] as (typeof started)[number];
    // Nodes that need the same images share one `docker save`.
    const groups = new Map<string, { images: string[]; nodes: (typeof started)[number][] }>();
    for (const [i, n] of started.entries()) {
      const images = [...new Set([...(options.images ?? []), ...(options.nodeImages?.[i] ?? [])])];
      const key = images.join('\n');
      const g = groups.get(key) ?? { images, nodes: [] };
      g.nodes.push(n);
      groups.set(key, g);
    }
    for (const g of groups.values()) await loadImages(g.nodes, g.images);

    await first.docker.swarmInit({
      ListenAddr: '0.0.0.0:2377',
      AdvertiseAddr: `${first.address}:2377`,
      ForceNewCluster: false,
    });
    const swarm = (await first.docker.swarmInspect()) as { JoinTokens: { Worker: string; Manager: string } };
    const managers = options.managers ?? 1;
    for (const [i, n] of started.entries()) {
      if (i === 0) continue;
      await n.docker.swarmJoin({
        ListenAddr: '0.0.0.0:2377',
        AdvertiseAddr: `${n.address}:2377`,
        RemoteAddrs: [`${first.address}:2377`],
        JoinToken: i < managers ? swarm.JoinTokens.Manager : swarm.JoinTokens.Worker,
      });
    }
    const nodes: SwarmNode[] = [];
    for (const [i, n] of started.entries()) {
      const info = (await n.docker.info()) as { Swarm: { NodeID: string } };
      nodes.push({ ...n, nodeId: info.Swarm.NodeID, role: i < managers ? 'manager' : 'worker' });
    }
    const manager = nodes[0] as SwarmNode;
    await until('every node is ready', 60_000, async () => {
      const list = (await manager.docker.listNodes()) as { Status: { State: string } }[];
      return list.length === count && list.every((n) => n.Status.State === 'ready') ? true : undefined;
    });
    for (const [i, labels] of (options.labels ?? []).entries()) {
      const node = nodes[i];
      if (!node || Object.keys(labels).length === 0) continue;
      const handle = manager.docker.getNode(node.nodeId);
      const info = (await handle.inspect()) as { Version: { Index: number }; Spec: { Labels?: object } };
      await handle.update({
        version: info.Version.Index,
        ...info.Spec,
        Labels: { ...info.Spec.Labels, ...labels },
      });
    }
    const nodeState = async (index: number) => {
      const node = nodes[index];
      if (!node) throw new Error(`no node ${index}`);
      const info = (await manager.docker.getNode(node.nodeId).inspect()) as { Status: { State: string } };
      return info.Status.State;
    };
    return {
      run,
      network,
      nodes,
      manager,
      async stopNode(index) {
        const node = nodes[index];
        if (!node) throw new Error(`no node ${index}`);
        await host.getContainer(node.containerId).stop({ t: 1 });
      },
      async waitForNodeState(index, state, timeoutMs = 60_000) {
        await until(`node ${index} is ${state}`, timeoutMs, async () =>
          (await nodeState(index)) === state ? true : undefined,
        );
      },
      close: () => removeSwarm(run),
    };
  } catch (err) {
    await removeSwarm(run);
    throw err;
  }
}

/**
 * A unix socket on this machine that forwards to a node's engine, for what speaks the Docker API only on a
 * socket (the Docker API guard's upstream). Removed by close().
 */
export async function nodeSocket(node: SwarmNode): Promise<{ path: string; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-swarm-sock-'));
  const path = join(dir, 'docker.sock');
  const { port } = new URL(node.host.replace(/^tcp:/, 'http:'));
  const open = new Set<{ destroy(): void }>();
  const server = createServer((client) => {
    const upstream = connect(Number(port), '127.0.0.1');
    open.add(client);
    open.add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  return {
    path,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of open) s.destroy();
      await closed;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

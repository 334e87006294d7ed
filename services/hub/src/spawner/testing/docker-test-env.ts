/**
 * Real-Docker test fixtures: a reachability check that yields a skip reason, tiny images built FROM the
 * locally built Debian base (there is no registry: nothing is pulled), and a per-run namespace (prefix,
 * deployment label, internal network) that is removed afterwards, even when tests fail.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Dockerode from 'dockerode';

export const BASE_IMAGE = 'berth/debian:bookworm';
/** Label on everything a test run creates outside the spawner (networks, foreign containers). */
export const TEST_LABEL = 'org.berth.test';

/** Prints what the hardening looks like from inside, then the greeting and the home marker, then sleeps. */
const SLEEPER_SCRIPT = [
  'echo "uid=$(id -u) gid=$(id -g)"',
  'grep -E "^(CapEff|NoNewPrivs):" /proc/self/status | tr -s "\\t" " "',
  'if touch /rootfs-probe 2>/dev/null; then echo rootfs=writable; else echo rootfs=readonly; fi',
  'if touch /tmp/probe 2>/dev/null; then echo tmp=writable; else echo tmp=readonly; fi',
  'echo "greeting=$BERTH_TEST_GREETING"',
  'if [ -n "$BERTH_TEST_WRITE" ]; then echo "$BERTH_TEST_WRITE" > /home/jovyan/marker; fi',
  'echo "marker=$(cat /home/jovyan/marker 2>/dev/null)"',
  'exec sleep infinity',
].join('; ');

export const TEST_IMAGES = {
  sleeper: {
    tag: 'berth-test/sleeper:latest',
    dockerfile: [
      `FROM ${BASE_IMAGE}`,
      'RUN useradd --uid 1000 --gid 100 --home-dir /home/jovyan --create-home --shell /bin/sh jovyan',
      'USER 1000:100',
      'WORKDIR /home/jovyan',
      `CMD ${JSON.stringify(['sh', '-c', SLEEPER_SCRIPT])}`,
    ].join('\n'),
  },
  exit3: {
    tag: 'berth-test/exit3:latest',
    dockerfile: [`FROM ${BASE_IMAGE}`, 'CMD ["sh", "-c", "echo boom; exit 3"]'].join('\n'),
  },
} as const;

/** A skip reason when the engine cannot be reached, false when it can. */
export async function dockerUnavailable(docker: Dockerode): Promise<string | false> {
  try {
    await docker.ping();
    return false;
  } catch (err) {
    return `Docker is not reachable (${err instanceof Error ? err.message : String(err)})`;
  }
}

/** Builds `tag` from a one-file context with the classic builder; rejects with the builder's error. */
export async function buildImage(docker: Dockerode, tag: string, dockerfile: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-build-'));
  try {
    await writeFile(join(dir, 'Dockerfile'), `${dockerfile}\n`);
    const stream = await docker.buildImage({ context: dir, src: ['Dockerfile'] }, { t: tag, rm: true });
    const events = await new Promise<{ error?: string }[]>((resolve, reject) =>
      docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) =>
        err ? reject(err) : resolve(out),
      ),
    );
    const failed = events.find((e) => e.error);
    if (failed) throw new Error(`building ${tag} failed: ${failed.error}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function buildTestImages(docker: Dockerode): Promise<void> {
  try {
    await docker.getImage(BASE_IMAGE).inspect();
  } catch {
    throw new Error(`base image ${BASE_IMAGE} is missing: build it with images/build-offline.sh base`);
  }
  for (const [key, { tag, dockerfile }] of Object.entries(TEST_IMAGES)) {
    await buildImage(docker, tag, dockerfile);
    builtIds.set(key, (await docker.getImage(tag).inspect()).Id);
  }
}

const builtIds = new Map<string, string>();

/** The id of a test image built by {@link buildTestImages}: the pin spawn requests carry (tags are refused). */
export function testImageId(key: keyof typeof TEST_IMAGES): string {
  const id = builtIds.get(key);
  if (!id) throw new Error(`test image ${key} was not built yet (call buildTestImages first)`);
  return id;
}

export interface TestNamespace {
  readonly run: string;
  readonly prefix: string;
  readonly deploymentId: string;
  readonly network: string;
}

/** Unique names for one test run, so runs never see each other's containers. */
export function testNamespace(): TestNamespace {
  const run = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
  return { run, prefix: `bt${run}`, deploymentId: `berth-test-${run}`, network: `berth-test-users-${run}` };
}

/** An internal network (no egress), like a locked-down user network. */
export async function createNetwork(docker: Dockerode, ns: TestNamespace): Promise<void> {
  await docker.createNetwork({ Name: ns.network, Internal: true, Labels: { [TEST_LABEL]: ns.run } });
}

/** Removes every container, volume and network of the run; never throws, so it is safe in `after`. */
export async function cleanup(docker: Dockerode, ns: TestNamespace): Promise<void> {
  const byDeployment = JSON.stringify({ label: [`org.berth.deployment=${ns.deploymentId}`] });
  const byTest = JSON.stringify({ label: [`${TEST_LABEL}=${ns.run}`] });
  const containers = [
    ...(await docker.listContainers({ all: true, filters: byDeployment }).catch(() => [])),
    ...(await docker.listContainers({ all: true, filters: byTest }).catch(() => [])),
  ];
  for (const c of containers)
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  const volumes = (await docker.listVolumes({ filters: byDeployment }).catch(() => undefined))?.Volumes ?? [];
  for (const v of volumes)
    await docker
      .getVolume(v.Name)
      .remove()
      .catch(() => undefined);
  // Per-server networks the spawner made (disconnect what is left, e.g. test peers, first).
  const nets = await docker.listNetworks({ filters: byDeployment }).catch(() => []);
  for (const n of nets) {
    const net = docker.getNetwork(n.Id);
    const info = (await net.inspect().catch(() => undefined)) as { Containers?: object } | undefined;
    for (const c of Object.keys(info?.Containers ?? {}))
      await net.disconnect({ Container: c, Force: true }).catch(() => undefined);
    await net.remove().catch(() => undefined);
  }
  await docker
    .getNetwork(ns.network)
    .remove()
    .catch(() => undefined);
}

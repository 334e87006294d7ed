/**
 * Per-server networks: each server gets its own `internal` bridge network, which only the containers that must
 * talk to it join (the proxy and the hub). Servers of different users share no network, so they cannot reach
 * each other; and none of them shares a network with Postgres. Docker-specific, so it lives here.
 */
import { createHash } from 'node:crypto';
import { SpawnError } from '../spawner.ts';
import type { DockerClient } from './client.ts';
import { errorMessage, isNotFound, statusCodeOf } from './errors.ts';
import { isOurs } from './labels.ts';

/** A container to connect to every server network, with the DNS names servers use for it there. */
export interface NetworkPeer {
  readonly container: string;
  readonly aliases: readonly string[];
  /** Names of the networks the peer is on already, when known: connecting to those is skipped. */
  readonly networks?: readonly string[];
}

/** How many /28 blocks start() tries before it gives up on finding a free subnet. */
const SUBNET_TRIES = 64;

/**
 * `10.213.0.0/16` → the blocks of `/blockBits` it holds: base as a 32-bit number and how many blocks.
 * `what` names the pool in the error.
 */
export function parsePool(
  cidr: string,
  blockBits = 28,
  what = 'subnet pool',
): { base: number; blocks: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const bits = m ? Number(m[5]) : -1;
  if (!m || octets.some((o) => o > 255) || bits < 8 || bits > blockBits) {
    throw new TypeError(`${what} ${JSON.stringify(cidr)}: expected an IPv4 CIDR from /8 to /${blockBits}`);
  }
  const raw = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - bits);
  const base = raw - (raw % size);
  return { base, blocks: size / 2 ** (32 - blockBits) };
}

/**
 * The `/blockBits` subnets to try for a network, starting at a place derived from its name, so parallel spawns
 * (and deployments sharing an engine) spread out.
 */
export function candidateSubnets(
  pool: string,
  networkName: string,
  tries = SUBNET_TRIES,
  blockBits = 28,
  what = 'subnet pool',
): string[] {
  const { base, blocks } = parsePool(pool, blockBits, what);
  const blockSize = 2 ** (32 - blockBits);
  const start = createHash('sha256').update(networkName).digest().readUInt32BE(0) % blocks;
  const out: string[] = [];
  for (let i = 0; i < Math.min(tries, blocks); i++) {
    const n = base + ((start + i) % blocks) * blockSize;
    out.push(`${[24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')}/${blockBits}`);
  }
  return out;
}

/** The network's inspect result, or undefined when it does not exist. */
export async function inspectNetwork(docker: DockerClient, name: string) {
  return docker
    .getNetwork(name)
    .inspect()
    .catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
}

/** What `ensureBridgeNetwork` creates, and how it recognises one it made before. */
export interface BridgeNetworkSpec {
  readonly name: string;
  readonly internal: boolean;
  readonly labels: Record<string, string>;
  readonly options?: Record<string, string>;
  /** Subnets to try in order (an overlap moves on to the next). */
  readonly subnets: readonly string[];
  /** The pool they come from, for the error when none is free. */
  readonly pool: string;
  /** Whether an existing network of that name is the one this spec describes. */
  readonly isExpected: (labels: Record<string, string> | undefined) => boolean;
  /** The error when it is not. */
  readonly notOurs: string;
}

/** Creates the bridge network if it is missing; refuses one of that name that is not the expected one. */
export async function ensureBridgeNetwork(docker: DockerClient, spec: BridgeNetworkSpec): Promise<void> {
  const existing = await inspectNetwork(docker, spec.name);
  if (existing) {
    if (!spec.isExpected(existing.Labels ?? undefined)) throw new SpawnError('START_FAILED', spec.notOurs);
    return;
  }
  let last = '';
  for (const subnet of spec.subnets) {
    try {
      await docker.createNetwork({
        Name: spec.name,
        CheckDuplicate: true,
        Driver: 'bridge',
        Internal: spec.internal,
        Labels: spec.labels,
        ...(spec.options ? { Options: spec.options } : {}),
        IPAM: { Driver: 'default', Config: [{ Subnet: subnet }] },
      });
      return;
    } catch (err) {
      last = errorMessage(err);
      // Another network holds this subnet (another deployment, or a parallel spawn): try the next block.
      if (/overlap/i.test(last)) continue;
      // A parallel start made it first.
      if (statusCodeOf(err) === 409 || /already exists/i.test(last)) return;
      throw err;
    }
  }
  throw new SpawnError('START_FAILED', `no free subnet for ${spec.name} in ${spec.pool}: ${last}`);
}

/** Creates the server's network if it is missing; refuses one of that name that is not this deployment's. */
export async function ensureServerNetwork(
  docker: DockerClient,
  name: string,
  labels: Record<string, string>,
  deploymentId: string,
  pool: string,
): Promise<void> {
  await ensureBridgeNetwork(docker, {
    name,
    internal: true,
    labels,
    subnets: candidateSubnets(pool, name),
    pool,
    isExpected: (l) => isOurs(l, deploymentId),
    notOurs: `a network named ${name} exists and is not this deployment's`,
  });
}

/** Connects each peer; one already connected is fine. */
export async function connectPeers(
  docker: DockerClient,
  name: string,
  peers: readonly NetworkPeer[],
): Promise<void> {
  // The peers (the proxy, the hub) are connected at once: each connect is a round trip of its own.
  await Promise.all(
    peers
      .filter((peer) => !peer.networks?.includes(name))
      .map((peer) =>
        docker
          .getNetwork(name)
          .connect({ Container: peer.container, EndpointConfig: { Aliases: [...peer.aliases] } })
          .catch((err: unknown) => {
            if (statusCodeOf(err) === 403 && /already exists|already attached/i.test(errorMessage(err)))
              return;
            throw err;
          }),
      ),
  );
}

/** Disconnects whatever is still attached (the peers) and removes the network, if it is ours. Missing is fine. */
export async function removeServerNetwork(
  docker: DockerClient,
  name: string,
  deploymentId: string,
): Promise<void> {
  const net = docker.getNetwork(name);
  const info = await inspectNetwork(docker, name);
  if (!info || !isOurs(info.Labels, deploymentId)) return;
  for (const container of Object.keys(info.Containers ?? {})) {
    await net.disconnect({ Container: container, Force: true }).catch(() => undefined);
  }
  await net.remove().catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
}

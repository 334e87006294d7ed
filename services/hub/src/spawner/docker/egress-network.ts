/**
 * Outbound internet for profiles that allow it. Server networks are `internal` (no route out), so a server whose
 * profile allows egress is also connected, before it starts, to the deployment's egress network: a bridge with
 * a route out, on which containers cannot talk to each other (ICC off), and whose subnet lies in a range the host
 * firewall filters (no private ranges, no cloud metadata, no host services; docs/security.md#egress).
 */
import { createHash } from 'node:crypto';
import { SpawnError } from '../spawner.ts';
import type { DockerClient } from './client.ts';
import { errorMessage, isNotFound, statusCodeOf } from './errors.ts';
import { isOurs, LABEL_DEPLOYMENT, LABEL_MANAGED } from './labels.ts';

/** Marks the egress network; the Docker guard lets a server join no other network after creation. */
export const LABEL_EGRESS = 'org.berth.egress';
export const ICC_OPTION = 'com.docker.network.bridge.enable_icc';

export interface EgressOptions {
  /** The network's name; default `<prefix>-egress`. */
  readonly networkName?: string;
  /** IPv4 range its /24 comes from; must be the range the firewall filters. Default 10.212.0.0/16. */
  readonly subnetPool?: string;
}

export const DEFAULT_EGRESS_POOL = '10.212.0.0/16';

/** The /24 blocks of `pool`, starting where `name` hashes to (deployments sharing an engine spread out). */
export function egressSubnets(pool: string, name: string, tries = 32): string[] {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(pool);
  const bits = m ? Number(m[5]) : -1;
  const octets = m ? m.slice(1, 5).map(Number) : [];
  if (!m || octets.some((o) => o > 255) || bits < 8 || bits > 24) {
    throw new TypeError(`egress subnet pool ${JSON.stringify(pool)}: expected an IPv4 CIDR from /8 to /24`);
  }
  const raw = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - bits);
  const base = raw - (raw % size);
  const blocks = size / 256;
  const start = createHash('sha256').update(name).digest().readUInt32BE(0) % blocks;
  const out: string[] = [];
  for (let i = 0; i < Math.min(tries, blocks); i++) {
    const n = base + ((start + i) % blocks) * 256;
    out.push(`${[24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')}/24`);
  }
  return out;
}

/** Creates the egress network if it is missing; refuses one of that name that is not this deployment's. */
export async function ensureEgressNetwork(
  docker: DockerClient,
  name: string,
  deploymentId: string,
  pool: string,
): Promise<void> {
  const existing = await docker
    .getNetwork(name)
    .inspect()
    .catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  if (existing) {
    if (!isOurs(existing.Labels, deploymentId) || existing.Labels?.[LABEL_EGRESS] !== 'true') {
      throw new SpawnError(
        'START_FAILED',
        `a network named ${name} exists and is not this deployment's egress network`,
      );
    }
    return;
  }
  let last = '';
  for (const subnet of egressSubnets(pool, name)) {
    try {
      await docker.createNetwork({
        Name: name,
        CheckDuplicate: true,
        Driver: 'bridge',
        Internal: false,
        Labels: { [LABEL_MANAGED]: 'true', [LABEL_DEPLOYMENT]: deploymentId, [LABEL_EGRESS]: 'true' },
        Options: { [ICC_OPTION]: 'false' },
        IPAM: { Driver: 'default', Config: [{ Subnet: subnet }] },
      });
      return;
    } catch (err) {
      last = errorMessage(err);
      if (/overlap/i.test(last)) continue;
      if (statusCodeOf(err) === 409 || /already exists/i.test(last)) return;
      throw err;
    }
  }
  throw new SpawnError('START_FAILED', `no free subnet for ${name} in ${pool}: ${last}`);
}

/** Connects a created (not yet started) server to the egress network. */
export async function connectEgress(docker: DockerClient, name: string, containerId: string): Promise<void> {
  await docker.getNetwork(name).connect({ Container: containerId });
}

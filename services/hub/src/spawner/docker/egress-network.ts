/**
 * Outbound internet for profiles that allow it. Server networks are `internal` (no route out), so a server whose
 * profile allows egress is also connected, before it starts, to the deployment's egress network: a bridge with
 * a route out, on which containers cannot talk to each other (ICC off), and whose subnet lies in a range the host
 * firewall filters (no private ranges, no cloud metadata, no host services; docs/security.md#egress).
 */
import type { DockerClient } from './client.ts';
import { isOurs, LABEL_DEPLOYMENT, LABEL_MANAGED } from './labels.ts';
import { candidateSubnets, ensureBridgeNetwork } from './server-network.ts';

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
  return candidateSubnets(pool, name, tries, 24, 'egress subnet pool');
}

/** Creates the egress network if it is missing; refuses a network of that name that is not this one. */
export async function ensureEgressNetwork(
  docker: DockerClient,
  name: string,
  deploymentId: string,
  pool: string,
): Promise<void> {
  await ensureBridgeNetwork(docker, {
    name,
    internal: false,
    labels: { [LABEL_MANAGED]: 'true', [LABEL_DEPLOYMENT]: deploymentId, [LABEL_EGRESS]: 'true' },
    options: { [ICC_OPTION]: 'false' },
    subnets: egressSubnets(pool, name),
    pool,
    isExpected: (l) => isOurs(l, deploymentId) && l?.[LABEL_EGRESS] === 'true',
    notOurs: `a network named ${name} exists and is not this deployment's egress network`,
  });
}

/** Connects a created (not yet started) server to the egress network. */
export async function connectEgress(docker: DockerClient, name: string, containerId: string): Promise<void> {
  await docker.getNetwork(name).connect({ Container: containerId });
}

/** DockerSpawner's options, their defaults and their validation. */
import { assertValidPrefix } from '../names.ts';
import type { DockerClient } from './client.ts';
import { DEFAULT_EGRESS_POOL, type EgressOptions, egressSubnets } from './egress-network.ts';
import { type NetworkPeer, parsePool } from './server-network.ts';
import type { TlsIssuer } from './tls-volume.ts';

export interface ResourceLimits {
  /** Memory limit in bytes; swap is set to the same value, so the container gets no swap. */
  readonly memoryBytes: number;
  /** CPU limit in billionths of a CPU (1e9 = one CPU). */
  readonly nanoCpus: number;
  /** Maximum number of processes and threads. */
  readonly pids: number;
}

export interface DockerSpawnerOptions {
  /** A Dockerode instance, or anything with the same subset of its API. */
  readonly docker: DockerClient;
  /** The user network: the only network user containers join. Must already exist. */
  readonly network: string;
  /** Value of the org.berth.deployment label; separates deployments sharing one engine. */
  readonly deploymentId: string;
  /** Prefix of every container and volume name. Default 'berth'. */
  readonly prefix?: string;
  /** Where the home volume is mounted. Default '/home/jovyan'. */
  readonly homeMountPath?: string;
  /** Numeric 'uid:gid' the server runs as; neither may be 0 (root). Default '1000:100'. */
  readonly user?: string;
  /** Limits for requests that set none. Default 2 GiB, 1 CPU, 1024 pids. */
  readonly defaultLimits?: Partial<ResourceLimits>;
  /** Size of the /tmp tmpfs in bytes. Default 256 MiB. */
  readonly tmpfsSize?: number;
  /** Grace period for `docker stop` before SIGKILL, in seconds. Default 10. */
  readonly stopTimeoutSeconds?: number;
  /**
   * How long a pull of a missing `repo@sha256:` image may take, in ms (separate from the start timeout, which
   * runs after it). Default 600000; 0 never pulls: a missing image is IMAGE_NOT_FOUND.
   */
  readonly pullTimeoutMs?: number;
  /** How long start() watches a new container for an immediate exit, in ms. Default 500; 0 = one inspect. */
  readonly earlyExitWindowMs?: number;
  /** json-file log rotation: size of one file (Docker syntax, e.g. '10m') and number of files. */
  readonly logMaxSize?: string;
  readonly logMaxFiles?: number;
  /**
   * One internal network per server instead of the shared `network`, so servers cannot reach each other.
   * `peers` names the containers to connect to each server network (the proxy and the hub, with the DNS
   * aliases servers use for them); it is asked at every start and reattach, since they change on recreation.
   */
  readonly serverNetworks?: ServerNetworkOptions;
  /** An image on the engine for the never-started helpers that archive home volumes; '' refuses archiving. */
  readonly helperImage?: string;
  /**
   * Internal TLS: each server gets a certificate for the names it is reached by, delivered read-only in its own
   * volume, and serves https, requiring client certificates (JUPYTERHUB_SSL_*).
   */
  readonly internalTls?: TlsIssuer;
  /**
   * Outbound internet for requests with `egress: true`: such servers also join this deployment's egress network
   * (docs/security.md#egress). Without it, a request with `egress: true` is refused.
   */
  readonly egress?: EgressOptions;
}

export interface ServerNetworkOptions {
  readonly peers: () => Promise<readonly NetworkPeer[]>;
  /** IPv4 range the /28 subnets of server networks are taken from. Default 10.213.0.0/16 (4096 servers). */
  readonly subnetPool?: string;
}

export type ResolvedOptions = Required<
  Omit<DockerSpawnerOptions, 'defaultLimits' | 'serverNetworks' | 'internalTls' | 'egress'>
> & {
  readonly egress: Required<EgressOptions> | undefined;
  readonly defaultLimits: ResourceLimits;
  readonly serverNetworks: Required<ServerNetworkOptions> | undefined;
  readonly internalTls: TlsIssuer | undefined;
};

export const DEFAULT_SUBNET_POOL = '10.213.0.0/16';

export const DEFAULTS = {
  prefix: 'berth',
  homeMountPath: '/home/jovyan',
  user: '1000:100',
  defaultLimits: { memoryBytes: 2 * 1024 ** 3, nanoCpus: 1e9, pids: 1024 },
  tmpfsSize: 256 * 1024 ** 2,
  stopTimeoutSeconds: 10,
  earlyExitWindowMs: 500,
  pullTimeoutMs: 600_000,
  logMaxSize: '10m',
  logMaxFiles: 3,
  helperImage: '',
} as const;

export function isPositiveInteger(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
}

function check(ok: boolean, key: string, why: string): void {
  if (!ok) throw new TypeError(`DockerSpawner option ${key}: ${why}`);
}

/** Applies defaults and validates; throws TypeError naming the bad option. Limits of 0 (unlimited) are refused. */
export function resolveOptions(o: DockerSpawnerOptions): ResolvedOptions {
  const r: ResolvedOptions = {
    ...DEFAULTS,
    ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
    docker: o.docker,
    network: o.network,
    deploymentId: o.deploymentId,
    defaultLimits: { ...DEFAULTS.defaultLimits, ...o.defaultLimits },
    serverNetworks: o.serverNetworks ? { subnetPool: DEFAULT_SUBNET_POOL, ...o.serverNetworks } : undefined,
    internalTls: o.internalTls,
    egress: o.egress
      ? {
          networkName: o.egress.networkName ?? `${o.prefix ?? DEFAULTS.prefix}-egress`,
          subnetPool: o.egress.subnetPool ?? DEFAULT_EGRESS_POOL,
        }
      : undefined,
  } as ResolvedOptions;
  check(typeof r.docker?.createContainer === 'function', 'docker', 'must be a Docker client');
  check(typeof r.network === 'string' && r.network !== '', 'network', 'must be a network name');
  check(typeof r.deploymentId === 'string' && r.deploymentId !== '', 'deploymentId', 'must not be empty');
  assertValidPrefix(r.prefix);
  check(
    r.homeMountPath.startsWith('/') && r.homeMountPath !== '/',
    'homeMountPath',
    'must be absolute, not /',
  );
  const ids = /^(\d+):(\d+)$/.exec(r.user);
  check(ids !== null && Number(ids[1]) !== 0 && Number(ids[2]) !== 0, 'user', "numeric 'uid:gid', neither 0");
  for (const [k, v] of Object.entries(r.defaultLimits))
    check(isPositiveInteger(v), `defaultLimits.${k}`, '> 0');
  check(isPositiveInteger(r.tmpfsSize), 'tmpfsSize', 'must be a positive integer');
  check(isPositiveInteger(r.stopTimeoutSeconds), 'stopTimeoutSeconds', 'must be a positive integer');
  check(Number.isSafeInteger(r.earlyExitWindowMs) && r.earlyExitWindowMs >= 0, 'earlyExitWindowMs', '>= 0');
  check(Number.isSafeInteger(r.pullTimeoutMs) && r.pullTimeoutMs >= 0, 'pullTimeoutMs', '>= 0');
  check(/^\d+[kmg]?$/.test(r.logMaxSize), 'logMaxSize', "Docker size syntax, e.g. '10m'");
  check(isPositiveInteger(r.logMaxFiles), 'logMaxFiles', 'must be a positive integer');
  if (r.serverNetworks) {
    check(typeof r.serverNetworks.peers === 'function', 'serverNetworks.peers', 'must be a function');
    try {
      parsePool(r.serverNetworks.subnetPool);
    } catch (err) {
      check(false, 'serverNetworks.subnetPool', (err as Error).message);
    }
  }
  if (r.egress) {
    check(
      /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(r.egress.networkName),
      'egress.networkName',
      'a Docker network name',
    );
    try {
      egressSubnets(r.egress.subnetPool, r.egress.networkName, 1);
    } catch (err) {
      check(false, 'egress.subnetPool', (err as Error).message);
    }
  }
  const known = new Set([
    ...Object.keys(DEFAULTS),
    'docker',
    'network',
    'deploymentId',
    'serverNetworks',
    'internalTls',
    'egress',
  ]);
  for (const k of Object.keys(o)) check(known.has(k), k, 'unknown option');
  return Object.freeze(r);
}

/** SwarmSpawner's options: the Docker spawner's defaults for everything they share, and what only Swarm has. */

import { DEFAULTS, isPositiveInteger, type ResourceLimits } from '../docker/options.ts';
import type { TlsIssuer } from '../docker/tls-volume.ts';
import { assertValidPrefix } from '../names.ts';
import type { SwarmClient } from './client.ts';

export interface SwarmSpawnerOptions {
  /** The Swarm API of a manager (swarmClient(new Dockerode(…))). */
  readonly swarm: SwarmClient;
  /**
   * The overlay network every server joins (swarm-scoped, created with the stack; the hub and the proxy are on
   * it too). Servers are reached by their service name on it.
   */
  readonly network: string;
  /** Value of the org.berth.deployment label; separates deployments sharing one swarm. */
  readonly deploymentId: string;
  /** Prefix of every service, volume and secret name. Default 'berth'. */
  readonly prefix?: string;
  readonly homeMountPath?: string;
  /** Numeric 'uid:gid' the server runs as; neither may be 0. Default '1000:100'. */
  readonly user?: string;
  readonly defaultLimits?: Partial<ResourceLimits>;
  readonly tmpfsSize?: number;
  readonly stopTimeoutSeconds?: number;
  /** How long start() watches a task that reached `running` for an immediate exit, in ms. Default 500. */
  readonly earlyExitWindowMs?: number;
  readonly logMaxSize?: string;
  readonly logMaxFiles?: number;
  /**
   * How long start() waits for the swarm to place and start the task (no node fits, the image is being pulled)
   * before it gives up with START_FAILED, in ms. Default 300 000. The hub's start timeout usually ends it first.
   */
  readonly scheduleTimeoutMs?: number;
  /** Placement constraints every server gets, in Swarm syntax (e.g. 'node.role==worker'). Default none. */
  readonly constraints?: readonly string[];
  /** Internal TLS: the server's key, certificate and client CA, delivered as Swarm secrets (read-only files). */
  readonly internalTls?: TlsIssuer;
}

export type ResolvedSwarmOptions = Required<
  Omit<SwarmSpawnerOptions, 'defaultLimits' | 'internalTls' | 'constraints'>
> & {
  readonly defaultLimits: ResourceLimits;
  readonly constraints: readonly string[];
  readonly internalTls: TlsIssuer | undefined;
};

const SWARM_DEFAULTS = {
  prefix: DEFAULTS.prefix,
  homeMountPath: DEFAULTS.homeMountPath,
  user: DEFAULTS.user,
  tmpfsSize: DEFAULTS.tmpfsSize,
  stopTimeoutSeconds: DEFAULTS.stopTimeoutSeconds,
  earlyExitWindowMs: DEFAULTS.earlyExitWindowMs,
  logMaxSize: DEFAULTS.logMaxSize,
  logMaxFiles: DEFAULTS.logMaxFiles,
  scheduleTimeoutMs: 300_000,
} as const;

/** A placement constraint: `<field> == <value>` or `!=`, fields and values without spaces or commas. */
const CONSTRAINT = /^[a-zA-Z0-9._-]+\s*(==|!=)\s*[a-zA-Z0-9._\-/]+$/;

function check(ok: boolean, key: string, why: string): void {
  if (!ok) throw new TypeError(`SwarmSpawner option ${key}: ${why}`);
}

/** Applies defaults and validates; throws TypeError naming the bad option. */
export function resolveSwarmOptions(o: SwarmSpawnerOptions): ResolvedSwarmOptions {
  const known = new Set([
    ...Object.keys(SWARM_DEFAULTS),
    'swarm',
    'network',
    'deploymentId',
    'defaultLimits',
  ]);
  for (const k of ['constraints', 'internalTls']) known.add(k);
  for (const k of Object.keys(o)) check(known.has(k), k, 'unknown option');
  const r = {
    ...SWARM_DEFAULTS,
    ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
    swarm: o.swarm,
    network: o.network,
    deploymentId: o.deploymentId,
    defaultLimits: { ...DEFAULTS.defaultLimits, ...o.defaultLimits },
    constraints: [...(o.constraints ?? [])],
    internalTls: o.internalTls,
  } as ResolvedSwarmOptions;
  check(typeof r.swarm?.createService === 'function', 'swarm', 'must be a Swarm client');
  check(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(r.network ?? ''), 'network', 'must be a network name');
  check(typeof r.deploymentId === 'string' && r.deploymentId !== '', 'deploymentId', 'must not be empty');
  assertValidPrefix(r.prefix);
  check(r.homeMountPath.startsWith('/') && r.homeMountPath !== '/', 'homeMountPath', 'absolute, not /');
  const ids = /^(\d+):(\d+)$/.exec(r.user);
  check(ids !== null && Number(ids[1]) !== 0 && Number(ids[2]) !== 0, 'user', "numeric 'uid:gid', neither 0");
  for (const [k, v] of Object.entries(r.defaultLimits))
    check(isPositiveInteger(v), `defaultLimits.${k}`, '> 0');
  check(isPositiveInteger(r.tmpfsSize), 'tmpfsSize', 'must be a positive integer');
  check(isPositiveInteger(r.stopTimeoutSeconds), 'stopTimeoutSeconds', 'must be a positive integer');
  check(Number.isSafeInteger(r.earlyExitWindowMs) && r.earlyExitWindowMs >= 0, 'earlyExitWindowMs', '>= 0');
  check(isPositiveInteger(r.scheduleTimeoutMs), 'scheduleTimeoutMs', 'must be a positive integer');
  check(/^\d+[kmg]?$/.test(r.logMaxSize), 'logMaxSize', "Docker size syntax, e.g. '10m'");
  check(isPositiveInteger(r.logMaxFiles), 'logMaxFiles', 'must be a positive integer');
  for (const c of r.constraints)
    check(CONSTRAINT.test(c), 'constraints', `${JSON.stringify(c)} is not a constraint`);
  return Object.freeze(r);
}

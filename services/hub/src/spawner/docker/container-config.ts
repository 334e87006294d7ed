/**
 * The container Berth asks Docker for: a pure function of the options and the request, so every hardening
 * setting is visible in one place and unit-testable without an engine.
 */
import type Dockerode from 'dockerode';
import { containerName, networkName, volumeName } from '../names.ts';
import { type DataVolume, SpawnError, type SpawnRequest } from '../spawner.ts';
import { errorMessage } from './errors.ts';
import { berthLabels, LABEL_PORT, LABEL_PROFILE } from './labels.ts';
import { isPositiveInteger, type ResolvedOptions, type ResourceLimits } from './options.ts';
import { isValidImageRef } from './refs.ts';

export interface ContainerPlan {
  readonly containerName: string;
  readonly volumeName: string;
  /** The only network the container joins: the shared user network, or the server's own. */
  readonly network: string;
  /** Set with per-server networks: the server's own network, which start() creates. */
  readonly networkName?: string;
  /** The image's ID, resolved just before, so a re-tag between check and create cannot swap the image. */
  readonly imageId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly env: readonly string[];
  readonly limits: ResourceLimits;
  readonly port: number;
  /** The profile's named volumes, mounted read-only. */
  readonly dataVolumes: readonly DataVolume[];
  /** GPU devices the server holds alone; none means no devices at all. */
  readonly gpus: readonly string[];
  /** `<profile>@<version>`, as a label. */
  readonly profile?: string;
}

const ENV_KEY = /^[^=\0]+$/;
/** A named volume: no slash, so never a host path. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,254}$/;
const MOUNT_PATH = /^(\/[A-Za-z0-9._-]+)+$/;
const GPU_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
/** A volume is a directory named after it, and Linux file names are at most 255 bytes. */
const MAX_NAME = 255;

/** What planning needs of a spawner's options: the Docker and the Swarm spawner both plan with it. */
export type PlanOptions = Pick<
  ResolvedOptions,
  'prefix' | 'network' | 'deploymentId' | 'defaultLimits' | 'homeMountPath'
> & { readonly serverNetworks?: unknown };

/** Everything about the container except the image id, derived from the request; throws START_FAILED. */
export function planContainer(o: PlanOptions, req: SpawnRequest): Omit<ContainerPlan, 'imageId'> {
  if (!isValidImageRef(req.image)) throw new SpawnError('START_FAILED', 'invalid image reference');
  if (!Number.isInteger(req.port) || req.port < 1 || req.port > 65535) {
    throw new SpawnError('START_FAILED', `invalid port ${req.port}`);
  }
  let names: { containerName: string; volumeName: string };
  try {
    names = {
      containerName: containerName(o.prefix, req.user, req.serverName),
      volumeName: volumeName(o.prefix, req.user, req.serverName),
    };
  } catch (err) {
    throw new SpawnError('START_FAILED', errorMessage(err));
  }
  if (names.volumeName.length > MAX_NAME) {
    throw new SpawnError('START_FAILED', 'user and server names are too long for Docker names once escaped');
  }
  const own = o.serverNetworks ? networkName(o.prefix, req.user, req.serverName) : undefined;
  return {
    ...names,
    network: own ?? o.network,
    ...(own ? { networkName: own } : {}),
    labels: berthLabels({ deploymentId: o.deploymentId, user: req.user, serverName: req.serverName }),
    env: toEnvList(req.env),
    limits: resolveLimits(o.defaultLimits, req.limits),
    port: req.port,
    dataVolumes: checkDataVolumes(o, req.dataVolumes ?? []),
    gpus: checkGpus(req.gpus ?? []),
    ...(req.profile ? { profile: `${req.profile.name}@${req.profile.version}` } : {}),
  };
}

/** Data volumes are named volumes at plain absolute paths, never over the home volume or /tmp. */
export function checkDataVolumes(
  o: Pick<PlanOptions, 'homeMountPath'>,
  volumes: readonly DataVolume[],
): DataVolume[] {
  const seen = new Set<string>([o.homeMountPath, '/tmp']);
  for (const v of volumes) {
    if (!VOLUME_NAME.test(v.volume)) {
      throw new SpawnError('START_FAILED', `data volume ${JSON.stringify(v.volume)} is not a volume name`);
    }
    const segments = v.mountPath.split('/');
    if (
      !MOUNT_PATH.test(v.mountPath) ||
      segments.includes('..') ||
      segments.includes('.') ||
      seen.has(v.mountPath)
    ) {
      throw new SpawnError(
        'START_FAILED',
        `data volume mount path ${JSON.stringify(v.mountPath)} is not allowed`,
      );
    }
    seen.add(v.mountPath);
  }
  return volumes.map((v) => ({ volume: v.volume, mountPath: v.mountPath }));
}

export function checkGpus(gpus: readonly string[]): string[] {
  if (gpus.some((g) => !GPU_ID.test(g)) || new Set(gpus).size !== gpus.length) {
    throw new SpawnError('GPU_UNAVAILABLE', 'invalid or repeated GPU device id');
  }
  return [...gpus];
}

/** `KEY=VALUE` strings; a key with '=' or NUL, or a value with NUL, would be silently mangled, so it is refused. */
export function toEnvList(env: Readonly<Record<string, string>>): string[] {
  return Object.entries(env).map(([k, v]) => {
    if (!ENV_KEY.test(k) || typeof v !== 'string' || v.includes('\0')) {
      throw new SpawnError(
        'START_FAILED',
        `invalid environment variable name or value: ${JSON.stringify(k)}`,
      );
    }
    return `${k}=${v}`;
  });
}

/** The request's limits over the defaults. Zero or negative would mean "unlimited" to Docker: refused. */
export function resolveLimits(defaults: ResourceLimits, req: SpawnRequest['limits']): ResourceLimits {
  const limits = {
    memoryBytes: req?.memoryBytes ?? defaults.memoryBytes,
    nanoCpus: req?.nanoCpus ?? defaults.nanoCpus,
    pids: req?.pids ?? defaults.pids,
  };
  for (const [k, v] of Object.entries(limits)) {
    if (!isPositiveInteger(v)) throw new SpawnError('START_FAILED', `limit ${k} must be a positive integer`);
  }
  return limits;
}

/** Linux limits a hostname to 64 bytes; the container name stays the DNS name, the hostname is cosmetic. */
export function hostnameFor(containerName: string): string {
  return containerName.length <= 63 ? containerName : containerName.slice(0, 63).replace(/[-.]+$/, '');
}

export function containerCreateOptions(
  o: ResolvedOptions,
  p: ContainerPlan,
): Dockerode.ContainerCreateOptions {
  return {
    name: p.containerName,
    Hostname: hostnameFor(p.containerName),
    Image: p.imageId,
    // No Cmd and no Entrypoint: the image's own command runs (PROTOCOL.md).
    Env: [...p.env],
    User: o.user,
    Labels: {
      ...p.labels,
      [LABEL_PORT]: String(p.port),
      ...(p.profile ? { [LABEL_PROFILE]: p.profile } : {}),
    },
    HostConfig: {
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      CapAdd: [],
      SecurityOpt: ['no-new-privileges:true'],
      Privileged: false,
      Memory: p.limits.memoryBytes,
      MemorySwap: p.limits.memoryBytes,
      NanoCpus: p.limits.nanoCpus,
      PidsLimit: p.limits.pids,
      Tmpfs: { '/tmp': `rw,noexec,nosuid,nodev,size=${o.tmpfsSize}` },
      Binds: [],
      Mounts: [
        { Type: 'volume', Source: p.volumeName, Target: o.homeMountPath, ReadOnly: false },
        // NoCopy: an empty data volume is never filled from the image.
        ...p.dataVolumes.map(
          (v) =>
            ({
              Type: 'volume',
              Source: v.volume,
              Target: v.mountPath,
              ReadOnly: true,
              VolumeOptions: { NoCopy: true },
            }) as Dockerode.MountSettings,
        ),
      ],
      // No host devices, except the GPUs the profile grants (through the NVIDIA runtime's device requests).
      Devices: [],
      DeviceRequests: p.gpus.length
        ? [{ Driver: 'nvidia', DeviceIDs: [...p.gpus], Capabilities: [['gpu']] }]
        : [],
      NetworkMode: p.network,
      PortBindings: {},
      PublishAllPorts: false,
      IpcMode: 'private',
      Init: true,
      RestartPolicy: { Name: 'no' },
      LogConfig: {
        Type: 'json-file',
        Config: { 'max-size': o.logMaxSize, 'max-file': String(o.logMaxFiles) },
      },
    },
  };
}

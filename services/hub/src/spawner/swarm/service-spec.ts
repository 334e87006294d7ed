/**
 * The Swarm service Berth asks a manager for, one per server: a pure function of the options and the plan the
 * Docker spawner makes too (container-config.ts: names, labels, environment, limits), so the hardening is the
 * same and visible in one place. What a Docker 20.10 service spec cannot say is the node's to enforce
 * (docs/swarm.md#nodes): no-new-privileges (dockerd's `no-new-privileges`), no swap, a private IPC namespace.
 */
import type Dockerode from 'dockerode';
import { type ContainerPlan, hostnameFor } from '../docker/container-config.ts';
import { LABEL_PORT, LABEL_PROFILE } from '../docker/labels.ts';
import { LABEL_TLS, SERVER_TLS_FILES } from '../docker/tls-volume.ts';
import { SpawnError, type SpawnRequest } from '../spawner.ts';
import type { ResolvedSwarmOptions } from './options.ts';

/** Swarm service names are DNS labels: at most 63 characters, no dots (escaped names have none). */
export const MAX_SERVICE_NAME = 63;
/** On a server's TLS secrets: the service they belong to. */
export const LABEL_SERVICE = 'org.berth.service';

const NODE_LABEL_KEY = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$/;
const NODE_LABEL_VALUE = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$/;

/** The plan, without the image id (Swarm resolves the pinned reference on the node). */
export type ServicePlan = Omit<ContainerPlan, 'imageId'>;

/** A server's TLS files, as Swarm secrets already created: the IDs and names to reference. */
export interface TlsSecrets {
  readonly key: { readonly id: string; readonly name: string };
  readonly cert: { readonly id: string; readonly name: string };
  readonly clientCa: { readonly id: string; readonly name: string };
}

/** `node.labels.<key>==<value>` for each label the profile asks for; anything else is refused. */
export function placementConstraints(req: Pick<SpawnRequest, 'placement'>): string[] {
  const labels = req.placement?.nodeLabels ?? {};
  return Object.entries(labels).map(([k, v]) => {
    if (!NODE_LABEL_KEY.test(k) || typeof v !== 'string' || !NODE_LABEL_VALUE.test(v)) {
      throw new SpawnError('START_FAILED', `invalid node label ${JSON.stringify(k)}=${JSON.stringify(v)}`);
    }
    return `node.labels.${k}==${v}`;
  });
}

/** Reservations must not exceed the limits (Swarm would refuse the service), and are positive when set. */
export function reservations(
  req: Pick<SpawnRequest, 'reservations'>,
  limits: ServicePlan['limits'],
): { MemoryBytes?: number; NanoCPUs?: number } {
  const r = req.reservations ?? {};
  const out: { MemoryBytes?: number; NanoCPUs?: number } = {};
  for (const [key, value, limit, api] of [
    ['memoryBytes', r.memoryBytes, limits.memoryBytes, 'MemoryBytes'],
    ['nanoCpus', r.nanoCpus, limits.nanoCpus, 'NanoCPUs'],
  ] as const) {
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value <= 0 || value > limit) {
      throw new SpawnError('START_FAILED', `reservation ${key} must be a positive integer within the limit`);
    }
    out[api] = value;
  }
  return out;
}

function secretRef(s: { id: string; name: string }, file: string, uid: string, gid: string, mode: number) {
  return { SecretID: s.id, SecretName: s.name, File: { Name: file, UID: uid, GID: gid, Mode: mode } };
}

export function serviceSpec(
  o: ResolvedSwarmOptions,
  p: ServicePlan,
  req: Pick<SpawnRequest, 'image' | 'placement' | 'reservations'>,
  tls?: TlsSecrets,
): Dockerode.ServiceSpec {
  if (p.containerName.length > MAX_SERVICE_NAME) {
    throw new SpawnError(
      'START_FAILED',
      'user and server names are too long for a Swarm service name once escaped',
    );
  }
  const [uid = '', gid = ''] = o.user.split(':');
  const labels: Record<string, string> = {
    ...p.labels,
    [LABEL_PORT]: String(p.port),
    ...(p.profile ? { [LABEL_PROFILE]: p.profile } : {}),
    ...(tls ? { [LABEL_TLS]: 'true' } : {}),
  };
  return {
    Name: p.containerName,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        // The profile's pin: an image id runs only what the node already holds (never pulled), a digest only
        // that content.
        Image: req.image,
        Labels: { ...labels },
        Hostname: hostnameFor(p.containerName),
        // No Command and no Args: the image's own command runs (PROTOCOL.md).
        Env: [...p.env],
        User: o.user,
        ReadOnly: true,
        CapabilityDrop: ['ALL'],
        Init: true,
        TTY: false,
        OpenStdin: false,
        StopGracePeriod: o.stopTimeoutSeconds * 1e9,
        Mounts: [
          {
            Type: 'volume',
            Source: p.volumeName,
            Target: o.homeMountPath,
            ReadOnly: false,
            // The node creates the home volume on first use, with Berth's labels.
            VolumeOptions: { Labels: { ...p.labels } },
          } as Dockerode.MountSettings,
          // A Mounts tmpfs is noexec,nosuid,nodev, as the Docker spawner's /tmp.
          {
            Type: 'tmpfs',
            Target: '/tmp',
            TmpfsOptions: { SizeBytes: o.tmpfsSize, Mode: 0o1777 },
          } as Dockerode.MountSettings,
        ],
        Secrets: tls
          ? [
              secretRef(tls.key, SERVER_TLS_FILES.key, uid, gid, 0o400),
              secretRef(tls.cert, SERVER_TLS_FILES.cert, uid, gid, 0o444),
              secretRef(tls.clientCa, SERVER_TLS_FILES.clientCa, uid, gid, 0o444),
            ]
          : [],
      },
      Resources: {
        Limits: { MemoryBytes: p.limits.memoryBytes, NanoCPUs: p.limits.nanoCpus, Pids: p.limits.pids },
        Reservations: reservations(req, p.limits),
      },
      // The hub decides about restarts; a task that ends (or whose node is lost) is not replaced.
      RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
      Placement: { Constraints: [...o.constraints, ...placementConstraints(req)] },
      Networks: [{ Target: o.network, Aliases: [p.containerName] }],
      LogDriver: {
        Name: 'json-file',
        Options: { 'max-size': o.logMaxSize, 'max-file': String(o.logMaxFiles) },
      },
    },
    Mode: { Replicated: { Replicas: 1 } },
    // DNS round robin: the service name resolves to the task itself (no virtual IP, no IPVS), ports unpublished.
    EndpointSpec: { Mode: 'dnsrr', Ports: [] },
  };
}

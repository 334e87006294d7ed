/**
 * The guard's own configuration, read from ITS environment only. The hub cannot change it: the hub talks to
 * the guard through the Docker API it forwards, and no forwarded call reaches the guard's settings.
 */
import { z } from 'zod';

const CIDR4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** A repository without tag or digest, e.g. `quay.io/jupyter/base-notebook` or `berth/singleuser`. */
const REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*$/;

export const guardConfigSchema = z.object({
  /** Where the guard listens (a unix socket). */
  listen: z.string().startsWith('/'),
  /** The real engine's socket. */
  dockerSocket: z.string().startsWith('/'),
  /** org.berth.deployment of the objects the guard lets through. */
  deploymentId: z.string().regex(NAME),
  /** Prefix of every container, volume and network name the hub may create. */
  prefix: z.string().regex(/^[a-z0-9][a-z0-9]*$/),
  /** Repositories a container's image must come from (checked on the image itself, by ID or digest). */
  imageRepositories: z.array(z.string().regex(REPOSITORY)).min(1),
  /** Named volumes that are not Berth's but may be mounted read-only (profiles' data volumes). */
  dataVolumes: z.array(z.string().regex(NAME)),
  /** The shared user network (BERTH_NETWORK_ISOLATION=shared) a container may join besides Berth networks. */
  usersNetwork: z.string().regex(NAME).optional(),
  /** IPv4 range per-server (internal) networks must take their subnet from. */
  serverSubnetPool: z.string().regex(CIDR4),
  /** IPv4 range the egress network must take its subnet from. */
  egressSubnetPool: z.string().regex(CIDR4),
  /** Compose project whose peer services (hub, proxy) may be inspected, listed and connected. */
  composeProject: z.string().optional(),
  /** Compose services that join every server network. */
  peerServices: z.array(z.string().regex(NAME)),
  /** Unix mode of the listening socket. */
  socketMode: z.number().int().min(0).max(0o777),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
});

export type GuardConfig = z.infer<typeof guardConfigSchema>;

export class GuardConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuardConfigError';
  }
}

const list = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Reads BERTH_GUARD_* (and the deployment's shared BERTH_* names); throws GuardConfigError naming the key. */
export function loadGuardConfig(env: NodeJS.ProcessEnv = process.env): GuardConfig {
  const raw = {
    listen: env.BERTH_GUARD_LISTEN ?? '/run/berth/docker-guard/docker.sock',
    dockerSocket: env.BERTH_GUARD_DOCKER_SOCKET ?? '/var/run/docker.sock',
    deploymentId: env.BERTH_DEPLOYMENT_ID ?? 'berth',
    prefix: env.BERTH_CONTAINER_PREFIX ?? 'berth',
    imageRepositories: list(env.BERTH_GUARD_IMAGE_REPOSITORIES),
    dataVolumes: list(env.BERTH_GUARD_DATA_VOLUMES),
    usersNetwork: env.BERTH_USERS_NETWORK || undefined,
    serverSubnetPool: env.BERTH_SERVER_SUBNET_POOL ?? '10.213.0.0/16',
    egressSubnetPool: env.BERTH_EGRESS_SUBNET_POOL ?? '10.212.0.0/16',
    composeProject: env.BERTH_GUARD_COMPOSE_PROJECT || undefined,
    peerServices: list(env.BERTH_GUARD_PEER_SERVICES ?? 'hub,proxy'),
    socketMode: Number.parseInt(env.BERTH_GUARD_SOCKET_MODE ?? '600', 8),
    logLevel: env.BERTH_LOG_LEVEL ?? 'info',
  };
  const parsed = guardConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '?');
    throw new GuardConfigError(`invalid guard setting ${ENV_NAMES[key] ?? key}: ${issue?.message}`);
  }
  return Object.freeze(parsed.data);
}

const ENV_NAMES: Record<string, string> = {
  listen: 'BERTH_GUARD_LISTEN',
  dockerSocket: 'BERTH_GUARD_DOCKER_SOCKET',
  deploymentId: 'BERTH_DEPLOYMENT_ID',
  prefix: 'BERTH_CONTAINER_PREFIX',
  imageRepositories: 'BERTH_GUARD_IMAGE_REPOSITORIES (comma-separated repositories, at least one)',
  dataVolumes: 'BERTH_GUARD_DATA_VOLUMES',
  usersNetwork: 'BERTH_USERS_NETWORK',
  serverSubnetPool: 'BERTH_SERVER_SUBNET_POOL',
  egressSubnetPool: 'BERTH_EGRESS_SUBNET_POOL',
  composeProject: 'BERTH_GUARD_COMPOSE_PROJECT',
  peerServices: 'BERTH_GUARD_PEER_SERVICES',
  socketMode: 'BERTH_GUARD_SOCKET_MODE',
  logLevel: 'BERTH_LOG_LEVEL',
};

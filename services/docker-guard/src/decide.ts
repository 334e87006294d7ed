/**
 * The decision for one parsed call: allow (with the body to forward), or refuse with a status and a reason.
 * Calls on existing objects are decided on the engine's own record of them (an inspect first), so the hub
 * cannot touch a container, volume or network that is not this deployment's by naming it.
 */
import { posix } from 'node:path';
import type { GuardConfig } from './config.ts';
import {
  COMPOSE_PROJECT,
  COMPOSE_SERVICE,
  isBerth,
  isOurs,
  LABEL_DEPLOYMENT,
  LABEL_EGRESS,
  type Labels,
} from './labels.ts';
import type { Operation, ParsedRequest } from './operations.ts';
import {
  checkContainerCreate,
  checkNetworkConnect,
  checkNetworkCreate,
  checkNetworkDisconnect,
  checkVolumeCreate,
  imageAllowed,
  normalizeRepository,
  repositoryOf,
} from './policy.ts';
import { checkSecretCreate, checkServiceCreate } from './swarm-policy.ts';
import type { ContainerInspect, LabelledInspect, Upstream } from './upstream.ts';

export type Decision =
  | { readonly allow: true; readonly body?: Buffer }
  | { readonly allow: false; readonly status: number; readonly message: string };

export interface DecideContext {
  readonly config: GuardConfig;
  readonly upstream: Upstream;
  /** The Compose project of the hub and the proxy, if any (found at start-up). */
  readonly composeProject: string | undefined;
}

const deny = (message: string, status = 403): Decision => ({ allow: false, status, message });
const ALLOW: Decision = { allow: true };

class Passthrough extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

/** Inspect an object; a 404 is answered to the caller as the engine's 404 (the spawner relies on it). */
async function inspect<T>(ctx: DecideContext, path: string, what: string): Promise<T> {
  const r = await ctx.upstream.get(path);
  if (r.status === 404) throw new Passthrough(404, `No such ${what}`);
  if (r.status !== 200) throw new Passthrough(502, `inspecting the ${what} failed with ${r.status}`);
  return r.body as T;
}

function isPeer(ctx: DecideContext, labels: Labels): boolean {
  return (
    ctx.composeProject !== undefined &&
    labels?.[COMPOSE_PROJECT] === ctx.composeProject &&
    ctx.config.peerServices.includes(labels?.[COMPOSE_SERVICE] ?? '')
  );
}

function labelsOf(c: ContainerInspect): Labels {
  return c.Config?.Labels;
}

export async function decide(
  p: ParsedRequest,
  body: Buffer | undefined,
  ctx: DecideContext,
): Promise<Decision> {
  try {
    return await decideOp(p, body, ctx);
  } catch (err) {
    if (err instanceof Passthrough) return { allow: false, status: err.status, message: err.message };
    return deny(`the engine could not be asked: ${(err as Error).message}`, 502);
  }
}

function parseJson(body: Buffer | undefined): unknown {
  if (!body || body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Is `repo` (a bare repository, or the repository part of a reference) one BERTH_GUARD_IMAGE_REPOSITORIES names? */
function repositoryAllowed(config: GuardConfig, repo: string): boolean {
  return config.imageRepositories.map(normalizeRepository).includes(normalizeRepository(repo));
}

/** The refusal for a container or service whose image the engine does not record as from an allowed repository. */
async function refuseImage(ctx: DecideContext, image: string): Promise<Decision | undefined> {
  const img = await inspect<{ RepoTags?: string[]; RepoDigests?: string[] }>(
    ctx,
    `/images/${image}/json`,
    'image',
  );
  if (imageAllowed(image, img, ctx.config.imageRepositories)) return undefined;
  return deny(
    `image ${image} is not from an allowed repository (${ctx.config.imageRepositories.join(', ')})`,
  );
}

async function decideOp(p: ParsedRequest, raw: Buffer | undefined, ctx: DecideContext): Promise<Decision> {
  const { config } = ctx;
  const op: Operation = p.op;
  switch (op.kind) {
    case 'ping':
    case 'version':
      return ALLOW;

    case 'image.pull': {
      // Only by digest, only from an allowed repository, never an import (fromSrc) or a tag: the digest names
      // the content, so a pull cannot bring anything but the image a profile pinned.
      if (raw && raw.length > 0) return deny('a pull takes no body');
      const from = p.query.getAll('fromImage');
      const tag = p.query.getAll('tag');
      if (from.length !== 1 || tag.length !== 1) return deny('a pull names one fromImage and one tag');
      const repo = from[0] as string;
      if (!/^sha256:[a-f0-9]{64}$/.test(tag[0] as string)) {
        return deny('images are pulled by digest only (tag=sha256:<64 hex>)');
      }
      if (repo.includes('@') || repositoryOf(repo) !== normalizeRepository(repo)) {
        return deny('fromImage must be a bare repository, without a tag or digest');
      }
      if (!repositoryAllowed(config, repo)) return deny(`image ${repo} is not from an allowed repository`);
      return ALLOW;
    }

    case 'image.inspect': {
      if (!op.name.startsWith('sha256:') && !repositoryAllowed(config, repositoryOf(op.name))) {
        return deny(`image ${op.name} is not from an allowed repository`);
      }
      const info = await inspect<{ RepoTags?: string[]; RepoDigests?: string[] }>(
        ctx,
        `/images/${op.name}/json`,
        'image',
      );
      return imageAllowed(op.name, info, config.imageRepositories)
        ? ALLOW
        : deny(`image ${op.name} is not from an allowed repository`);
    }

    case 'container.create': {
      const body = parseJson(raw);
      const v = checkContainerCreate(body, p.query.get('name'), config);
      if (!v.ok) return deny(v.reason);
      const { image, network, volumes } = v.needs;
      const refused = await refuseImage(ctx, image);
      if (refused) return refused;
      if (network !== 'none' && network !== config.usersNetwork) {
        const net = await inspect<LabelledInspect>(ctx, `/networks/${enc(network)}`, 'network').catch(
          () => undefined,
        );
        if (!net || !isOurs(net.Labels, config.deploymentId) || net.Labels?.[LABEL_EGRESS] === 'true') {
          return deny(`network ${network} is not one of this deployment's server networks`);
        }
      }
      for (const vol of volumes) {
        const info = await inspect<LabelledInspect>(ctx, `/volumes/${enc(vol.name)}`, 'volume').catch(
          () => undefined,
        );
        const ours = info !== undefined && isOurs(info.Labels, config.deploymentId);
        const data = info !== undefined && vol.readOnly && config.dataVolumes.includes(vol.name);
        if (!ours && !data) {
          return deny(
            `volume ${vol.name} is not this deployment's (and not a read-only data volume the guard allows)`,
          );
        }
      }
      return { allow: true, body: Buffer.from(JSON.stringify(body)) };
    }

    case 'volume.list': {
      const labels = labelFilters(p.query.get('filters'));
      // Docker ANDs label filters: with this one, the answer holds only this deployment's volumes.
      const ours = labels?.includes(`${LABEL_DEPLOYMENT}=${config.deploymentId}`);
      return ours ? ALLOW : deny("only this deployment's volumes may be listed");
    }

    case 'container.list': {
      const labels = labelFilters(p.query.get('filters'));
      if (!labels) return deny('listing needs a label filter');
      const ours = labels.includes(`${LABEL_DEPLOYMENT}=${config.deploymentId}`);
      const peers =
        ctx.composeProject !== undefined &&
        labels.includes(`${COMPOSE_PROJECT}=${ctx.composeProject}`) &&
        config.peerServices.some((s) => labels.includes(`${COMPOSE_SERVICE}=${s}`));
      return ours || peers ? ALLOW : deny("only this deployment's containers (or its peers) may be listed");
    }

    case 'container.inspect': {
      const c = await inspect<ContainerInspect>(ctx, `/containers/${op.id}/json`, `container: ${op.id}`);
      if (isOurs(labelsOf(c), config.deploymentId) || isPeer(ctx, labelsOf(c))) return ALLOW;
      return deny(`container ${op.id} is not this deployment's`);
    }

    case 'container.action':
    case 'container.logs':
    case 'container.remove': {
      const c = await inspect<ContainerInspect>(ctx, `/containers/${op.id}/json`, `container: ${op.id}`);
      if (!isOurs(labelsOf(c), config.deploymentId))
        return deny(`container ${op.id} is not this deployment's`);
      // Helpers (no network) may be created without limits, on the promise that they never run: nothing
      // starts without the limits, whoever created it.
      if (op.kind === 'container.action' && op.action === 'start' && !hasLimits(c)) {
        return deny('a container without memory, CPU and pids limits is never started');
      }
      return ALLOW;
    }

    case 'container.archive': {
      const c = await inspect<ContainerInspect>(ctx, `/containers/${op.id}/json`, `container: ${op.id}`);
      if (!isOurs(labelsOf(c), config.deploymentId))
        return deny(`container ${op.id} is not this deployment's`);
      if (c.State?.Status !== 'created' || !(c.State.StartedAt ?? '').startsWith('0001-')) {
        return deny('files may only be copied to or from a container that has never started');
      }
      const path = p.query.get('path') ?? '';
      if (!path.startsWith('/') || path.split('/').some((s) => s === '..' || s === '.')) {
        return deny('the archive path must be absolute, without . or .. segments');
      }
      const norm = posix.normalize(path);
      for (const m of c.Mounts ?? []) {
        if (m.Type !== 'volume' || !m.Name || !m.Destination || (op.write && m.RW === false)) continue;
        const inside = norm === m.Destination || norm.startsWith(`${m.Destination.replace(/\/$/, '')}/`);
        if (!inside) continue;
        const vol = await inspect<LabelledInspect>(ctx, `/volumes/${enc(m.Name)}`, 'volume');
        if (isOurs(vol.Labels, config.deploymentId)) return ALLOW;
      }
      return deny("files may only be copied to or from this deployment's volumes");
    }

    case 'volume.create': {
      const body = parseJson(raw);
      const v = checkVolumeCreate(body, config);
      return v.ok ? { allow: true, body: Buffer.from(JSON.stringify(body)) } : deny(v.reason);
    }

    case 'volume.inspect': {
      const vol = await inspect<LabelledInspect>(ctx, `/volumes/${op.name}`, `volume: ${op.name}`);
      return isBerth(vol.Labels) || config.dataVolumes.includes(op.name)
        ? ALLOW
        : deny(`volume ${op.name} is not Berth's`);
    }

    case 'volume.remove': {
      const vol = await inspect<LabelledInspect>(ctx, `/volumes/${op.name}`, `volume: ${op.name}`);
      return isOurs(vol.Labels, config.deploymentId)
        ? ALLOW
        : deny(`volume ${op.name} is not this deployment's`);
    }

    case 'network.create': {
      const body = parseJson(raw);
      const v = checkNetworkCreate(body, config);
      return v.ok ? { allow: true, body: Buffer.from(JSON.stringify(body)) } : deny(v.reason);
    }

    case 'network.inspect': {
      const net = await inspect<LabelledInspect>(ctx, `/networks/${op.id}`, `network: ${op.id}`);
      return isBerth(net.Labels) || (config.usersNetwork !== undefined && net.Name === config.usersNetwork)
        ? ALLOW
        : deny(`network ${op.id} is not Berth's`);
    }

    case 'network.connect': {
      const body = parseJson(raw);
      const v = checkNetworkConnect(body);
      if (!v.ok) return deny(v.reason);
      const net = await inspect<LabelledInspect>(ctx, `/networks/${op.id}`, `network: ${op.id}`);
      if (!isOurs(net.Labels, config.deploymentId)) return deny(`network ${op.id} is not this deployment's`);
      const egress = net.Labels?.[LABEL_EGRESS] === 'true';
      const c = await inspect<ContainerInspect>(
        ctx,
        `/containers/${enc(v.needs.container)}/json`,
        'container',
      );
      // Peers (hub, proxy) join server networks; a user's container joins only the egress network.
      if (!egress && isPeer(ctx, labelsOf(c)))
        return { allow: true, body: Buffer.from(JSON.stringify(body)) };
      if (egress && isOurs(labelsOf(c), config.deploymentId)) {
        return { allow: true, body: Buffer.from(JSON.stringify(body)) };
      }
      return deny(
        egress
          ? "only this deployment's servers may join the egress network"
          : "only the hub and the proxy may join a server's network",
      );
    }

    case 'network.disconnect': {
      const body = parseJson(raw);
      const v = checkNetworkDisconnect(body);
      if (!v.ok) return deny(v.reason);
      const net = await inspect<LabelledInspect>(ctx, `/networks/${op.id}`, `network: ${op.id}`);
      return isOurs(net.Labels, config.deploymentId)
        ? { allow: true, body: Buffer.from(JSON.stringify(body)) }
        : deny(`network ${op.id} is not this deployment's`);
    }

    case 'network.remove': {
      const net = await inspect<LabelledInspect>(ctx, `/networks/${op.id}`, `network: ${op.id}`);
      return isOurs(net.Labels, config.deploymentId)
        ? ALLOW
        : deny(`network ${op.id} is not this deployment's`);
    }

    default:
      return decideSwarm(op, p, raw, ctx);
  }
}

interface SpecInspect {
  readonly ID?: string;
  readonly Spec?: {
    readonly Name?: string;
    readonly Labels?: Record<string, string> | null;
    readonly ContainerSpec?: { readonly Labels?: Record<string, string> | null };
  };
}

const TASK_ID = /^[a-z0-9]{25}$/;

/**
 * The Swarm calls. A service, task or secret is the deployment's when its labels say so (a task by its
 * container spec's labels); task lists are narrowed to named services or task IDs the guard checked first,
 * since a task carries its service's environment (tokens included).
 */
async function decideSwarm(
  op: Operation,
  p: ParsedRequest,
  raw: Buffer | undefined,
  ctx: DecideContext,
): Promise<Decision> {
  const { config } = ctx;
  const ours = (labels: Record<string, string> | null | undefined) => isOurs(labels, config.deploymentId);
  switch (op.kind) {
    case 'node.list':
      return ALLOW;

    case 'service.list':
    case 'secret.list': {
      const labels = labelFilters(p.query.get('filters'));
      return labels?.includes(`${LABEL_DEPLOYMENT}=${config.deploymentId}`)
        ? ALLOW
        : deny(`only this deployment's ${op.kind === 'service.list' ? 'services' : 'secrets'} may be listed`);
    }

    case 'service.inspect':
    case 'service.remove':
    case 'service.logs': {
      const svc = await inspect<SpecInspect>(ctx, `/services/${op.id}`, `service: ${op.id}`);
      return ours(svc.Spec?.Labels) ? ALLOW : deny(`service ${op.id} is not this deployment's`);
    }

    case 'secret.remove': {
      const sec = await inspect<SpecInspect>(ctx, `/secrets/${op.id}`, `secret: ${op.id}`);
      return ours(sec.Spec?.Labels) ? ALLOW : deny(`secret ${op.id} is not this deployment's`);
    }

    case 'task.list': {
      const f = taskFilters(p.query.get('filters'));
      if (!f) return deny('tasks may only be listed by service or task ID (and desired state)');
      for (const s of f.service) {
        const svc = await inspect<SpecInspect>(ctx, `/services/${enc(s)}`, `service: ${s}`);
        if (!ours(svc.Spec?.Labels)) return deny(`service ${s} is not this deployment's`);
      }
      for (const id of f.id) {
        if (!TASK_ID.test(id)) return deny('task IDs must be given in full');
        const task = await inspect<SpecInspect>(ctx, `/tasks/${id}`, `task: ${id}`).catch((err: unknown) => {
          // A task already reaped is simply not listed.
          if (err instanceof Passthrough && err.status === 404) return undefined;
          throw err;
        });
        if (task && !ours(task.Spec?.ContainerSpec?.Labels))
          return deny(`task ${id} is not this deployment's`);
      }
      return ALLOW;
    }

    case 'secret.create': {
      const body = parseJson(raw);
      const v = checkSecretCreate(body, config);
      return v.ok ? { allow: true, body: Buffer.from(JSON.stringify(body)) } : deny(v.reason);
    }

    case 'service.create': {
      const body = parseJson(raw);
      const v = checkServiceCreate(body, config);
      if (!v.ok) return deny(v.reason);
      const { image, networks, secrets, readOnlyVolumes } = v.needs;
      const refused = await refuseImage(ctx, image);
      if (refused) return refused;
      for (const n of networks) {
        const net = await inspect<LabelledInspect>(ctx, `/networks/${enc(n)}`, 'network').catch(
          () => undefined,
        );
        const shared =
          config.usersNetwork !== undefined &&
          (n === config.usersNetwork || net?.Name === config.usersNetwork);
        if (!net || !(shared || (ours(net.Labels) && net.Labels?.[LABEL_EGRESS] !== 'true'))) {
          return deny(`network ${n} is not one of this deployment's server networks`);
        }
      }
      for (const s of secrets) {
        const sec = await inspect<SpecInspect>(ctx, `/secrets/${s.id}`, 'secret').catch(() => undefined);
        if (!sec || !ours(sec.Spec?.Labels) || sec.Spec?.Name !== s.name) {
          return deny(`secret ${s.name} is not this deployment's`);
        }
      }
      for (const v of readOnlyVolumes) {
        if (!config.dataVolumes.includes(v)) return deny(`volume ${v} is not a data volume the guard allows`);
      }
      return { allow: true, body: Buffer.from(JSON.stringify(body)) };
    }

    default:
      return deny('not an allowed Docker call');
  }
}

/** A task list's filters: only `service`, `id` and `desired-state`, and at least one service or task ID. */
function taskFilters(filters: string | null): { service: string[]; id: string[] } | undefined {
  if (!filters) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(filters);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const values = (v: unknown): string[] | undefined => {
    if (v === undefined) return [];
    if (Array.isArray(v)) return v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
    if (typeof v === 'object' && v !== null) {
      return Object.entries(v)
        .filter(([, on]) => on === true)
        .map(([k]) => k);
    }
    return undefined;
  };
  const f = parsed as Record<string, unknown>;
  if (Object.keys(f).some((k) => !['service', 'id', 'desired-state'].includes(k))) return undefined;
  const service = values(f.service);
  const id = values(f.id);
  if (!service || !id || values(f['desired-state']) === undefined) return undefined;
  if (service.length === 0 && id.length === 0) return undefined;
  if (service.some((s) => !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(s))) return undefined;
  return { service, id };
}

function hasLimits(c: ContainerInspect): boolean {
  const h = c.HostConfig;
  const pos = (n: number | null | undefined) => typeof n === 'number' && n > 0;
  return (
    pos(h?.Memory) &&
    h?.MemorySwap === h?.Memory &&
    pos(h?.PidsLimit) &&
    (pos(h?.NanoCpus) || (pos(h?.CpuQuota) && pos(h?.CpuPeriod)))
  );
}

/**
 * The `label` values of a Docker `filters` parameter, in either of its JSON shapes (`{"label":["a=b"]}` or
 * `{"label":{"a=b":true}}`). Docker ANDs label filters, so a required label narrows the answer.
 * Undefined when the filter is missing or malformed.
 */
export function labelFilters(filters: string | null): string[] | undefined {
  if (!filters) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(filters);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const label = (parsed as Record<string, unknown>).label;
  if (Array.isArray(label)) return label.filter((l): l is string => typeof l === 'string');
  if (typeof label === 'object' && label !== null) {
    return Object.entries(label)
      .filter(([, v]) => v === true)
      .map(([k]) => k);
  }
  return undefined;
}

/**
 * SwarmSpawner: one Swarm service per server (one replica, never restarted by Swarm), hardened like the Docker
 * spawner's container, placed by the profile's node labels, on the deployment's overlay network, its home in a
 * volume on the node it runs on. Readiness comes from the service's task states. Only Swarm API calls live
 * here; lifecycle rules (single-flight, timeouts, readiness) are the hub's.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { parseImagePin } from '../../profiles/spec.ts';
import { planContainer } from '../docker/container-config.ts';
import { demuxLogs, lastLines } from '../docker/demux.ts';
import { errorMessage, isNotFound, statusCodeOf, toSpawnError } from '../docker/errors.ts';
import { deploymentFilter, isOurs, LABEL_PORT, LABEL_SERVER, LABEL_USER } from '../docker/labels.ts';
import { LABEL_TLS, type TlsFilesPem, tlsEnv } from '../docker/tls-volume.ts';
import { volumeName } from '../names.ts';
import {
  type ManagedServer,
  SpawnError,
  type Spawner,
  type SpawnerState,
  type SpawnerStatus,
  type SpawnProgress,
  type SpawnRequest,
  type Started,
} from '../spawner.ts';
import type { NodeInfo, ServiceInfo, SwarmClient, TaskInfo } from './client.ts';
import { type ResolvedSwarmOptions, resolveSwarmOptions, type SwarmSpawnerOptions } from './options.ts';
import { LABEL_SERVICE, serviceSpec, type TlsSecrets } from './service-spec.ts';
import { currentTask, isMissingImage, readTask, type TaskReading } from './tasks.ts';

const SERVICE_ID = /^[a-z0-9]{25}$/;
const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$/;
const POLL_MS = 200;

function throwIfAborted(signal: AbortSignal | undefined, state?: SpawnerState): void {
  if (signal?.aborted) throw new SpawnError('ABORTED', 'start was aborted', state);
}

/** The service to address: its id, else its name; undefined when there is none, null when malformed. */
function serviceRef(state: SpawnerState): string | null | undefined {
  const { serviceId: id, serviceName: name } = state;
  if (id !== undefined && id !== null) return typeof id === 'string' && SERVICE_ID.test(id) ? id : null;
  if (name !== undefined && name !== null)
    return typeof name === 'string' && SERVICE_NAME.test(name) ? name : null;
  return undefined;
}

export class SwarmSpawner implements Spawner {
  readonly #o: ResolvedSwarmOptions;
  readonly #swarm: SwarmClient;

  constructor(options: SwarmSpawnerOptions) {
    this.#o = resolveSwarmOptions(options);
    this.#swarm = this.#o.swarm;
  }

  async start(req: SpawnRequest, signal?: AbortSignal, progress?: SpawnProgress): Promise<Started> {
    throwIfAborted(signal);
    const tls = this.#o.internalTls;
    const plan = planContainer(this.#o, tls ? { ...req, env: tlsEnv(req.env) } : req);
    if (!parseImagePin(req.image)) throw new SpawnError('IMAGE_MISMATCH', `image ${req.image} is not pinned`);
    if (plan.gpus.length > 0) throw new SpawnError('GPU_UNAVAILABLE', 'GPUs are not offered on Swarm yet');
    if (plan.dataVolumes.length > 0) {
      // Swarm would create a missing volume empty on whichever node the task lands; refused until checked.
      throw new SpawnError('START_FAILED', 'profile data volumes are not supported on Swarm yet');
    }
    if (req.egress) throw new SpawnError('START_FAILED', 'outbound internet is not configured on Swarm');
    let state: SpawnerState = { serviceName: plan.containerName, volumeName: plan.volumeName };
    let serviceId: string | undefined;
    const secretIds: string[] = [];
    let keep = false;
    try {
      await this.#removeStale(plan.containerName);
      throwIfAborted(signal, state);
      const secrets = tls
        ? await this.#createTlsSecrets(
            plan.containerName,
            plan.labels,
            await tls.issue({ user: req.user, serverName: req.serverName, hostnames: [plan.containerName] }),
            secretIds,
          )
        : undefined;
      throwIfAborted(signal, state);
      const spec = serviceSpec(this.#o, plan, req, secrets);
      serviceId = (await this.#swarm.createService(spec)).id;
      state = { serviceId, ...state };
      const reading = await this.#waitForTask(serviceId, req.image, state, signal, progress);
      if (reading.kind === 'ended') {
        keep = true;
        const exitCode = reading.exitCode ?? -1;
        throw new SpawnError('EXITED_EARLY', `the server exited right after start with code ${exitCode}`, {
          ...state,
          exitCode,
        });
      }
      return { url: `${tls ? 'https' : 'http'}://${plan.containerName}:${req.port}`, state };
    } catch (err) {
      // An early exit keeps its service so logs() can explain it; anything else leaves nothing of this start
      // behind (and never touches what an earlier start made, e.g. a running server's secrets).
      if (!keep) {
        if (serviceId) await this.#removeService(serviceId).catch(() => undefined);
        for (const id of secretIds) await this.#swarm.removeSecret(id).catch(() => undefined);
      }
      throw toSpawnError(err, `start ${plan.containerName}`, state);
    }
  }

  async stop(state: SpawnerState): Promise<void> {
    const service = await this.#ours(state).catch((err: unknown) => {
      throw statusCodeOf(err) === undefined
        ? new SpawnError('BACKEND_UNAVAILABLE', `stop: ${errorMessage(err)}`, state)
        : new Error(`stop: ${errorMessage(err)}`);
    });
    if (!service) return;
    await this.#removeAll(service.ID, service.Spec?.Name).catch((err: unknown) => {
      throw new Error(`stop: ${errorMessage(err)}`);
    });
  }

  async status(state: SpawnerState): Promise<SpawnerStatus> {
    try {
      const service = await this.#ours(state);
      if (!service) {
        return typeof state.exitCode === 'number'
          ? { state: 'stopped', exitCode: state.exitCode }
          : { state: 'stopped' };
      }
      const [tasks, nodes] = await Promise.all([this.#tasks(service.ID), this.#swarm.listNodes()]);
      const r = readTask(currentTask(tasks), nodes);
      switch (r.kind) {
        case 'running':
          return { state: 'running' };
        case 'ended':
          return r.exitCode === undefined ? { state: 'stopped' } : { state: 'stopped', exitCode: r.exitCode };
        case 'lost':
        case 'rejected':
          return { state: 'stopped' };
        default:
          // Placed but not running yet (or no task yet): neither running nor stopped; the next poll asks again.
          return {
            state: 'unknown',
            error: r.kind === 'none' ? 'the service has no task yet' : `task ${r.state}`,
          };
      }
    } catch (err) {
      if (isNotFound(err)) return { state: 'stopped' };
      return { state: 'unknown', error: errorMessage(err) };
    }
  }

  async logs(state: SpawnerState, tail: number): Promise<string> {
    const n = Math.max(0, Math.floor(tail));
    const service = await this.#ours(state);
    if (!service || n === 0) return '';
    try {
      return lastLines(demuxLogs(await this.#swarm.serviceLogs(service.ID, { tail: n })), n);
    } catch (err) {
      if (isNotFound(err)) return '';
      throw err;
    }
  }

  /** This deployment's services, with whether each one's task runs on a node that is still there. */
  async list(filter: { user?: string; serverName?: string } = {}): Promise<ManagedServer[]> {
    const services = await this.#swarm.listServices({ filters: deploymentFilter(this.#o.deploymentId) });
    const ours = services.filter((s) => {
      const l = s.Spec?.Labels ?? {};
      const user = l[LABEL_USER];
      const server = l[LABEL_SERVER];
      if (user === undefined || server === undefined || !s.Spec?.Name) return false;
      return (
        (filter.user === undefined || filter.user === user) &&
        (filter.serverName === undefined || filter.serverName === server)
      );
    });
    if (ours.length === 0) return [];
    const [tasks, nodes] = await Promise.all([
      this.#swarm.listTasks({ filters: JSON.stringify({ service: ours.map((s) => s.ID) }) }),
      this.#swarm.listNodes(),
    ]);
    return ours.map((s) => {
      const labels = s.Spec?.Labels ?? {};
      const user = labels[LABEL_USER] as string;
      const serverName = labels[LABEL_SERVER] as string;
      const name = s.Spec?.Name as string;
      const port = labels[LABEL_PORT];
      const https = labels[LABEL_TLS] === 'true';
      const r = readTask(currentTask(tasks.filter((t) => t.ServiceID === s.ID)), nodes);
      return {
        user,
        serverName,
        running: r.kind === 'running',
        url: port ? `${https ? 'https' : 'http'}://${name}:${port}` : undefined,
        state: {
          serviceId: s.ID,
          serviceName: name,
          volumeName: volumeName(this.#o.prefix, user, serverName),
        },
      };
    });
  }

  /** Follows the new service's task until it runs (through the early-exit window), ends, or is refused. */
  async #waitForTask(
    id: string,
    image: string,
    state: SpawnerState,
    signal: AbortSignal | undefined,
    progress: SpawnProgress | undefined,
  ): Promise<TaskReading> {
    const deadline = Date.now() + this.#o.scheduleTimeoutMs;
    let last: TaskReading = { kind: 'none' };
    let runningSince: number | undefined;
    let told = '';
    for (;;) {
      throwIfAborted(signal, state);
      const [tasks, nodes] = await Promise.all([this.#tasks(id), this.#swarm.listNodes()]);
      const task = currentTask(tasks);
      last = readTask(task, nodes);
      const step = progressMessage(last, task, nodes);
      if (progress && step && step !== told) {
        told = step;
        progress(step);
      }
      switch (last.kind) {
        case 'running':
          runningSince ??= Date.now();
          if (Date.now() - runningSince >= this.#o.earlyExitWindowMs) return last;
          break;
        case 'ended':
          return last;
        case 'rejected':
          if (isMissingImage(last.message)) {
            throw new SpawnError('IMAGE_NOT_FOUND', `the node has no image ${image}: ${last.message}`, state);
          }
          throw new SpawnError('START_FAILED', `the swarm refused the server: ${last.message}`, state);
        case 'lost':
          throw new SpawnError(
            'START_FAILED',
            `the server's node was lost while it started: ${last.message}`,
            state,
          );
        default:
          break;
      }
      if (Date.now() > deadline) {
        const why = last.kind === 'transit' ? `task ${last.state}: ${last.message}` : 'no task was created';
        throw new SpawnError('START_FAILED', `the swarm did not start the server in time (${why})`, state);
      }
      await delay(POLL_MS, undefined, signal ? { signal } : {}).catch(() => undefined);
    }
  }

  #tasks(serviceId: string): Promise<TaskInfo[]> {
    return this.#swarm.listTasks({ filters: JSON.stringify({ service: [serviceId] }) });
  }

  /** The state's service if it exists and carries this deployment's labels; undefined otherwise. */
  async #ours(state: SpawnerState): Promise<ServiceInfo | undefined> {
    const ref = serviceRef(state);
    if (!ref) return undefined;
    try {
      const info = await this.#swarm.inspectService(ref);
      return isOurs(info.Spec?.Labels ?? undefined, this.#o.deploymentId) ? info : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** A service of the same name left by an earlier run (an early exit) is removed, but only if it is ours. */
  async #removeStale(name: string): Promise<void> {
    const existing = await this.#swarm.inspectService(name).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (!existing) return;
    if (!isOurs(existing.Spec?.Labels ?? undefined, this.#o.deploymentId)) {
      throw new SpawnError('START_FAILED', `a service named ${name} exists and is not this deployment's`);
    }
    const [tasks, nodes] = await Promise.all([this.#tasks(existing.ID), this.#swarm.listNodes()]);
    const r = readTask(currentTask(tasks), nodes);
    if (r.kind === 'running' || r.kind === 'transit' || r.kind === 'none') {
      const state = { serviceId: existing.ID, serviceName: name };
      throw new SpawnError('START_FAILED', `service ${name} is already running`, state);
    }
    await this.#removeAll(existing.ID, name);
  }

  /**
   * Removes the service and then its TLS secrets (also any a crashed start left under its name): no longer in
   * use once the service is gone.
   */
  async #removeAll(id: string, name: string | undefined): Promise<void> {
    await this.#removeService(id);
    if (name) await this.#removeSecrets(name);
  }

  /** Removes the service and waits (the stop grace period and a little more) until no task holds a container. */
  async #removeService(id: string): Promise<void> {
    // Once the service is gone its tasks can only be asked for by their own IDs.
    const ids = (await this.#tasks(id).catch(() => [])).map((t) => t.ID);
    await this.#swarm.removeService(id).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    const deadline = Date.now() + (this.#o.stopTimeoutSeconds + 15) * 1000;
    while (ids.length > 0 && Date.now() < deadline) {
      const [tasks, nodes] = await Promise.all([
        this.#swarm.listTasks({ filters: JSON.stringify({ id: ids }) }),
        this.#swarm.listNodes(),
      ]);
      if (!tasks.some((t) => ids.includes(t.ID) && holdsContainer(t, nodes))) break;
      await delay(POLL_MS);
    }
  }

  async #createTlsSecrets(
    service: string,
    labels: Readonly<Record<string, string>>,
    files: TlsFilesPem,
    created: string[],
  ): Promise<TlsSecrets> {
    // Secrets cannot change: each start makes new ones, named after the service and a random tag (max 64 chars).
    const tag = randomBytes(4).toString('hex');
    const base = `${service.slice(0, 45)}-tls-${tag}`;
    const make = async (suffix: string, pem: string) => {
      const name = `${base}-${suffix}`;
      const { id } = await this.#swarm.createSecret({
        Name: name,
        Data: Buffer.from(pem).toString('base64'),
        Labels: { ...labels, [LABEL_SERVICE]: service },
      });
      created.push(id);
      return { id, name };
    };
    return {
      key: await make('key', files.keyPem),
      cert: await make('crt', files.certPem),
      clientCa: await make('ca', files.clientCaPem),
    };
  }

  async #removeSecrets(service: string): Promise<void> {
    const secrets = await this.#swarm.listSecrets({
      filters: deploymentFilter(this.#o.deploymentId, [`${LABEL_SERVICE}=${service}`]),
    });
    for (const s of secrets) {
      if (!isOurs(s.Spec?.Labels ?? undefined, this.#o.deploymentId)) continue;
      await this.#swarm.removeSecret(s.ID).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    }
  }
}

/** What a user is told about the task while the server starts; undefined when there is nothing new to say. */
export function progressMessage(
  r: TaskReading,
  task: TaskInfo | undefined,
  nodes: readonly NodeInfo[],
): string | undefined {
  const node = nodes.find((n) => n.ID === task?.NodeID);
  const where = node ? `node ${node.Description?.Hostname ?? node.ID}` : 'a node';
  if (r.kind === 'running') return `Running on ${where}`;
  if (r.kind !== 'transit') return undefined;
  switch (r.state) {
    case 'pending':
      return r.message.startsWith('no suitable node')
        ? `Waiting for a node that fits: ${r.message}`
        : 'Waiting for a node';
    case 'preparing':
      return `Preparing on ${where} (the image, the home volume)`;
    case 'starting':
      return `Starting on ${where}`;
    default:
      return task?.NodeID ? `Placed on ${where}` : undefined;
  }
}

/** A task whose container may still exist: not ended yet, on a node the manager still hears from. */
function holdsContainer(t: TaskInfo, nodes: readonly NodeInfo[]): boolean {
  const r = readTask(t, nodes);
  return (
    r.kind === 'running' ||
    (r.kind === 'transit' && t.NodeID !== undefined && t.NodeID !== '') ||
    (r.kind === 'ended' && r.state.startsWith('running'))
  );
}

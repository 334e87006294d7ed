/**
 * DockerSpawner: one hardened container per server, on the user network, with a labelled home volume.
 * Only Docker calls live here; lifecycle rules (single-flight, timeouts, readiness) are the hub's.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { networkName, tlsVolumeName, volumeName } from '../names.ts';
import {
  type ManagedServer,
  SpawnError,
  type Spawner,
  type SpawnerState,
  type SpawnerStatus,
  type SpawnProgress,
  type SpawnRequest,
  type Started,
  type StorageAction,
  type StorageOutcome,
  type SweepCache,
} from '../spawner.ts';
import type { DockerClient, DockerContainer } from './client.ts';
import { containerCreateOptions, hostnameFor, planContainer } from './container-config.ts';
import { demuxLogs, lastLines } from './demux.ts';
import { connectEgress, ensureEgressNetwork } from './egress-network.ts';
import { errorMessage, isNotFound, statusCodeOf, toSpawnError } from './errors.ts';
import { disposeHomeVolumes } from './home-volumes.ts';
import { pullableRef, pullByDigest } from './image-pull.ts';
import {
  deploymentFilter,
  isBerth,
  isOurs,
  LABEL_PORT,
  LABEL_PROBE,
  LABEL_SERVER,
  LABEL_USER,
} from './labels.ts';
import { type DockerSpawnerOptions, type ResolvedOptions, resolveOptions } from './options.ts';
import { checkPin } from './pin.ts';
import { containerRef, networkRef } from './refs.ts';
import { connectPeers, ensureServerNetwork, removeServerNetwork } from './server-network.ts';
import { fillTlsVolume, LABEL_TLS, removeTlsVolume, tlsEnv, withTlsMount } from './tls-volume.ts';

/** A container of this deployment, as found by {@link DockerSpawner.list}. */
export type { ManagedServer } from '../spawner.ts';

function throwIfAborted(signal: AbortSignal | undefined, state?: SpawnerState): void {
  if (signal?.aborted) throw new SpawnError('ABORTED', 'start was aborted', state);
}

export class DockerSpawner implements Spawner {
  readonly #o: ResolvedOptions;
  readonly #docker: DockerClient;

  constructor(options: DockerSpawnerOptions) {
    this.#o = resolveOptions(options);
    this.#docker = this.#o.docker;
  }

  async start(req: SpawnRequest, signal?: AbortSignal, progress?: SpawnProgress): Promise<Started> {
    throwIfAborted(signal);
    const tls = this.#o.internalTls;
    const plan = planContainer(this.#o, tls ? { ...req, env: tlsEnv(req.env) } : req);
    const tlsVolume = tls ? tlsVolumeName(this.#o.prefix, req.user, req.serverName) : undefined;
    let state: SpawnerState = {
      containerName: plan.containerName,
      volumeName: plan.volumeName,
      ...(plan.networkName ? { networkName: plan.networkName } : {}),
      ...(tlsVolume ? { tlsVolumeName: tlsVolume } : {}),
    };
    let container: DockerContainer | undefined;
    try {
      const imageId = await this.#imageId(req.image, signal, progress);
      throwIfAborted(signal, state);
      // What the container needs is prepared at once: volumes, networks, a stale container's removal and the TLS
      // files do not depend on each other, and each is a Docker round trip or more (a network create, the TLS
      // helper), so in sequence they added up to a visible share of a spawn (bench/spawn).
      // First what refuses the start without creating anything: a refused start leaves no trace.
      await this.#checkDataVolumes(plan.dataVolumes.map((v) => v.volume));
      throwIfAborted(signal, state);
      const [, , , tlsMounted, egress] = await Promise.all([
        this.#ensureVolume(plan.volumeName, plan.labels),
        plan.networkName ? this.#ensureNetwork(plan.networkName, plan.labels) : undefined,
        this.#removeStale(plan.containerName),
        tls && tlsVolume
          ? (async () => {
              // A fresh certificate at every start, for the names the proxy and the hub use to reach this server.
              const files = await tls.issue({
                user: req.user,
                serverName: req.serverName,
                hostnames: [...new Set([plan.containerName, hostnameFor(plan.containerName)])],
              });
              throwIfAborted(signal, state);
              await fillTlsVolume(this.#docker, {
                volumeName: tlsVolume,
                helperName: `${plan.containerName}-tls`,
                imageId,
                user: this.#o.user,
                labels: plan.labels,
                deploymentId: this.#o.deploymentId,
                files,
              });
              return true;
            })()
          : false,
        req.egress ? this.#egressNetwork() : undefined,
      ]);
      throwIfAborted(signal, state);
      let create = containerCreateOptions(this.#o, { ...plan, imageId });
      if (tlsMounted && tlsVolume) create = withTlsMount(create, tlsVolume);
      container = await this.#docker.createContainer(create);
      state = { containerId: container.id, ...state, imageId };
      // Joined before the first instruction runs, so the server never runs with a route it should not have.
      if (egress) await connectEgress(this.#docker, egress, container.id);
      throwIfAborted(signal, state);
      await container.start().catch((err: unknown) => {
        // An engine without the GPU runtime refuses device requests only here, at start.
        if (plan.gpus.length > 0 && statusCodeOf(err) !== undefined) {
          throw new SpawnError(
            'GPU_UNAVAILABLE',
            `the engine cannot give the server its GPUs: ${errorMessage(err)}`,
            state,
          );
        }
        throw err;
      });
      await this.#watchForEarlyExit(container, signal);
      throwIfAborted(signal, state);
      const info = await container.inspect();
      if (!info.State.Running) {
        const { ExitCode: exitCode, OOMKilled: oomKilled } = info.State;
        const why = `container exited right after start with code ${exitCode}${oomKilled ? ' (OOM-killed)' : ''}`;
        throw new SpawnError('EXITED_EARLY', why, { ...state, exitCode, oomKilled });
      }
      return { url: `${tls ? 'https' : 'http'}://${plan.containerName}:${req.port}`, state };
    } catch (err) {
      // An early exit keeps its container so logs() can explain it; anything else leaves nothing behind.
      const keep = err instanceof SpawnError && err.code === 'EXITED_EARLY';
      if (container && !keep) await container.remove({ force: true }).catch(() => undefined);
      throw toSpawnError(err, `start ${plan.containerName}`, state);
    }
  }

  async stop(state: SpawnerState): Promise<void> {
    const container = await this.#ours(state).catch((err: unknown) => {
      throw statusCodeOf(err) === undefined
        ? new SpawnError('BACKEND_UNAVAILABLE', `stop: ${errorMessage(err)}`, state)
        : new Error(`stop: ${errorMessage(err)}`);
    });
    if (container) await this.#stopContainer(container);
    const tlsVolume = state.tlsVolumeName;
    if (typeof tlsVolume === 'string') {
      await removeTlsVolume(this.#docker, tlsVolume, this.#o.deploymentId).catch((err: unknown) => {
        throw new Error(`remove TLS volume: ${errorMessage(err)}`);
      });
    }
    const net = networkRef(state);
    if (net && this.#o.serverNetworks) {
      await removeServerNetwork(this.#docker, net, this.#o.deploymentId).catch((err: unknown) => {
        throw new Error(`remove network: ${errorMessage(err)}`);
      });
    }
  }

  /**
   * Make a server found after a restart reachable again: with per-server networks, a recreated proxy or hub
   * is not connected to the server's network yet. Idempotent; a no-op with the shared network.
   */
  async reattach(state: SpawnerState, cache?: SweepCache): Promise<void> {
    const net = networkRef(state);
    const opts = this.#o.serverNetworks;
    if (!net || !opts) return;
    // Once per sweep, not once per server: the lookup is two Docker calls, and it knows which networks each
    // peer is already on, so a steady-state sweep makes no Docker call per server for this.
    const peers = await (cache ? cache.once('docker:network-peers', () => opts.peers()) : opts.peers());
    await connectPeers(this.#docker, net, peers);
  }

  /** A deleted user's home volumes, or a removed named server's, archived or deleted (home-volumes.ts). */
  disposeStorage(user: string, action: StorageAction, serverName?: string): Promise<StorageOutcome[]> {
    const o = this.#o;
    const helperImage = o.helperImage || undefined;
    const opts = { prefix: o.prefix, deploymentId: o.deploymentId, helperImage, user: o.user };
    return disposeHomeVolumes(this.#docker, opts, user, action, new Date(), serverName);
  }

  async #stopContainer(container: DockerContainer): Promise<void> {
    await container.stop({ t: this.#o.stopTimeoutSeconds }).catch((err: unknown) => {
      if (!isNotFound(err) && statusCodeOf(err) !== 304) throw new Error(`stop: ${errorMessage(err)}`);
    });
    await container.remove({ force: true }).catch((err: unknown) => {
      if (!isNotFound(err) && statusCodeOf(err) !== 409) throw new Error(`remove: ${errorMessage(err)}`);
    });
  }

  async status(state: SpawnerState): Promise<SpawnerStatus> {
    try {
      const ref = containerRef(state);
      if (ref === null) return { state: 'unknown', error: 'malformed spawner state' };
      if (ref === undefined) return { state: 'stopped' };
      const info = await this.#docker.getContainer(ref).inspect();
      const s = info.State;
      if (!isOurs(info.Config.Labels, this.#o.deploymentId)) return { state: 'stopped' };
      if (s.Paused) return { state: 'unknown', error: 'container is paused' };
      if (s.Running || s.Restarting) return { state: 'running' };
      if (s.Status === 'created') return { state: 'stopped' };
      return { state: 'stopped', exitCode: s.ExitCode, oomKilled: s.OOMKilled };
    } catch (err) {
      if (isNotFound(err)) return { state: 'stopped' };
      return { state: 'unknown', error: errorMessage(err) };
    }
  }

  async logs(state: SpawnerState, tail: number): Promise<string> {
    const n = Math.max(0, Math.floor(tail));
    const container = await this.#ours(state);
    if (!container || n === 0) return '';
    try {
      const raw = await container.logs({ stdout: true, stderr: true, tail: n, follow: false });
      return lastLines(demuxLogs(raw), n);
    } catch (err) {
      if (isNotFound(err)) return '';
      throw err;
    }
  }

  /** This deployment's containers (running or not), optionally only one user's or one server's. */
  async list(filter: { user?: string; serverName?: string } = {}): Promise<ManagedServer[]> {
    const infos = await this.#docker.listContainers({
      all: true,
      filters: deploymentFilter(this.#o.deploymentId),
    });
    const out: ManagedServer[] = [];
    for (const info of infos) {
      const user = info.Labels[LABEL_USER];
      const serverName = info.Labels[LABEL_SERVER];
      const name = info.Names[0]?.replace(/^\//, '');
      if (user === undefined || serverName === undefined || name === undefined) continue;
      if (info.Labels[LABEL_PROBE] === 'true') continue;
      if (filter.user !== undefined && filter.user !== user) continue;
      if (filter.serverName !== undefined && filter.serverName !== serverName) continue;
      const port = info.Labels[LABEL_PORT];
      const volume = volumeName(this.#o.prefix, user, serverName);
      const https = info.Labels[LABEL_TLS] === 'true';
      out.push({
        user,
        serverName,
        running: info.State === 'running',
        url: port ? `${https ? 'https' : 'http'}://${name}:${port}` : undefined,
        state: {
          containerId: info.Id,
          containerName: name,
          volumeName: volume,
          ...(https ? { tlsVolumeName: tlsVolumeName(this.#o.prefix, user, serverName) } : {}),
          ...(this.#o.serverNetworks ? { networkName: networkName(this.#o.prefix, user, serverName) } : {}),
        },
      });
    }
    return out;
  }

  /**
   * Resolves the image locally and checks it is the pinned one; never pulls (there may be no registry, and
   * profiles pin what runs). The id it returns is what the container is created from, so a re-tag between
   * this check and the create cannot swap the image.
   */
  async #imageId(image: string, signal?: AbortSignal, progress?: SpawnProgress): Promise<string> {
    const inspect = () => this.#docker.getImage(image).inspect();
    let info: { readonly Id: string; readonly RepoDigests?: readonly string[] | null };
    try {
      info = await inspect();
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // Absent: a digest reference is pulled (the digest names the content); anything else cannot be.
      if (this.#o.pullTimeoutMs === 0 || !pullableRef(image)) {
        throw new SpawnError('IMAGE_NOT_FOUND', `image ${image} is not present on the engine`);
      }
      await pullByDigest(this.#docker, image, {
        timeoutMs: this.#o.pullTimeoutMs,
        ...(signal ? { signal } : {}),
        ...(progress ? { progress } : {}),
      });
      info = await inspect();
    }
    const pin = checkPin(image, info);
    if (!pin.ok) throw new SpawnError('IMAGE_MISMATCH', pin.why);
    return info.Id;
  }

  /** A profile's data volumes must exist (Docker would create an empty one) and never be a Berth home volume. */
  async #checkDataVolumes(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const v = await this.#docker
        .getVolume(name)
        .inspect()
        .catch((err: unknown) => {
          if (isNotFound(err))
            throw new SpawnError('DATA_VOLUME_NOT_FOUND', `data volume ${name} does not exist`);
          throw err;
        });
      if (isBerth(v.Labels)) {
        throw new SpawnError(
          'START_FAILED',
          `data volume ${name} is a Berth home volume and is never shared`,
        );
      }
    }
  }

  async #ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    const existing = await this.#docker
      .getVolume(name)
      .inspect()
      .catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
    if (!existing) {
      await this.#docker.createVolume({ Name: name, Labels: labels });
    } else if (isBerth(existing.Labels) && !isOurs(existing.Labels, this.#o.deploymentId)) {
      throw new SpawnError('START_FAILED', `volume ${name} belongs to another Berth deployment`);
    }
  }

  /** The egress network's name, created if missing; refused when the deployment has none configured. */
  async #egressNetwork(): Promise<string> {
    const e = this.#o.egress;
    if (!e) throw new SpawnError('START_FAILED', 'outbound internet is not configured for this deployment');
    await ensureEgressNetwork(this.#docker, e.networkName, this.#o.deploymentId, e.subnetPool);
    return e.networkName;
  }

  /** The server's own network, with the proxy and the hub connected to it. */
  async #ensureNetwork(name: string, labels: Record<string, string>): Promise<void> {
    const opts = this.#o.serverNetworks;
    if (!opts) return;
    await ensureServerNetwork(this.#docker, name, labels, this.#o.deploymentId, opts.subnetPool);
    await connectPeers(this.#docker, name, await opts.peers());
  }

  /** A stopped container of the same name left by an earlier run is removed, but only if it is ours. */
  async #removeStale(name: string): Promise<void> {
    const info = await this.#docker
      .getContainer(name)
      .inspect()
      .catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
    if (!info) return;
    if (!isOurs(info.Config.Labels, this.#o.deploymentId)) {
      throw new SpawnError('START_FAILED', `a container named ${name} exists and is not this deployment's`);
    }
    if (info.State.Running) {
      const state = { containerId: info.Id, containerName: name };
      throw new SpawnError('START_FAILED', `container ${name} is already running`, state);
    }
    await this.#docker
      .getContainer(info.Id)
      .remove({ force: true })
      .catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
  }

  /** Waits up to earlyExitWindowMs for the container to stop; returns at once when it does, or on abort. */
  async #watchForEarlyExit(container: DockerContainer, signal: AbortSignal | undefined): Promise<void> {
    if (this.#o.earlyExitWindowMs === 0) return;
    const done = new AbortController();
    const stop = signal ? AbortSignal.any([done.signal, signal]) : done.signal;
    try {
      await Promise.race([
        container.wait({ condition: 'not-running', abortSignal: stop }).catch(() => undefined),
        delay(this.#o.earlyExitWindowMs, undefined, { signal: stop }).catch(() => undefined),
      ]);
    } finally {
      done.abort();
    }
  }

  /** The state's container if it exists and carries this deployment's labels; undefined otherwise. */
  async #ours(state: SpawnerState): Promise<DockerContainer | undefined> {
    const ref = containerRef(state);
    if (!ref) return undefined;
    const container = this.#docker.getContainer(ref);
    try {
      const info = await container.inspect();
      return isOurs(info.Config.Labels, this.#o.deploymentId) ? container : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

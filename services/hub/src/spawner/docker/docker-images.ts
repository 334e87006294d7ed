/**
 * Images, for profiles: what the engine holds under a reference, and a probe that runs an image once to learn
 * the jupyterhub version it carries. The probe container is as boxed in as a user's server, and more: no
 * network at all, no volumes, a read-only root, small limits, and it is removed afterwards.
 */

import { randomBytes } from 'node:crypto';
import type Dockerode from 'dockerode';
import {
  type ImageInfo,
  type ImageInspector,
  judgeVersion,
  type ProbeOutcome,
} from '../../profiles/images.ts';
import type { DockerClient, DockerContainer } from './client.ts';
import { demuxLogs, lastLines } from './demux.ts';
import { errorMessage, isNotFound, statusCodeOf } from './errors.ts';
import { LABEL_DEPLOYMENT, LABEL_MANAGED, LABEL_PROBE, LABEL_SERVER, LABEL_USER } from './labels.ts';
import { checkPin } from './pin.ts';
import { isValidImageRef } from './refs.ts';

export { LABEL_PROBE } from './labels.ts';

export interface DockerImagesOptions {
  readonly docker: DockerClient;
  readonly deploymentId: string;
  /** Prefix of container names, as the spawner's. Default 'berth'. */
  readonly prefix?: string;
  /** Numeric 'uid:gid' the probe runs as. Default '1000:100'. */
  readonly user?: string;
  /** How long the probe may run. Default 60 s. */
  readonly probeTimeoutMs?: number;
  /** What the probe runs. Default `jupyterhub-singleuser --version`, through the image's entrypoint. */
  readonly command?: readonly string[];
}

export class DockerImages implements ImageInspector {
  readonly #o: Required<DockerImagesOptions>;

  constructor(o: DockerImagesOptions) {
    this.#o = {
      user: '1000:100',
      prefix: 'berth',
      probeTimeoutMs: 60_000,
      command: ['jupyterhub-singleuser', '--version'],
      ...o,
    };
  }

  async inspect(ref: string): Promise<ImageInfo | undefined> {
    if (!isValidImageRef(ref)) return undefined;
    try {
      const info = await this.#o.docker.getImage(ref).inspect();
      return { id: info.Id, repoDigests: [...(info.RepoDigests ?? [])] };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async probe(image: string): Promise<ProbeOutcome> {
    let imageId: string;
    try {
      if (!isValidImageRef(image)) return { status: 'failed', detail: 'invalid image reference' };
      const info = await this.#o.docker.getImage(image).inspect();
      const pin = checkPin(image, info);
      if (!pin.ok) return { status: 'failed', detail: pin.why, imageId: info.Id };
      imageId = info.Id;
    } catch (err) {
      return {
        status: 'failed',
        detail: isNotFound(err) ? 'the image is not on the engine' : errorMessage(err),
      };
    }
    let container: DockerContainer | undefined;
    try {
      container = await this.#o.docker.createContainer(this.createOptions(imageId));
      try {
        await container.start();
      } catch (err) {
        // The engine refuses to start a command the image does not have: the image is not a single-user one.
        // Any other refusal (e.g. by the Docker API guard) says nothing about the image.
        const why = errorMessage(err);
        if (statusCodeOf(err) !== undefined && /executable file not found|no such file/i.test(why)) {
          return {
            status: 'incompatible',
            imageId,
            detail: `cannot run ${this.#o.command.join(' ')}: ${why}`,
          };
        }
        return { status: 'failed', imageId, detail: `the probe could not start: ${why}` };
      }
      const finished = await this.#waitFor(container);
      if (!finished) {
        return {
          status: 'failed',
          imageId,
          detail: `the probe did not finish within ${this.#o.probeTimeoutMs / 1000} s`,
        };
      }
      const state = (await container.inspect()).State;
      const raw = await container.logs({ stdout: true, stderr: true, tail: 20, follow: false });
      const out = lastLines(demuxLogs(raw), 20);
      const judged = judgeVersion(out);
      if (state.ExitCode !== 0 || !judged) {
        const tail = lastLines(out, 3).slice(0, 500);
        return {
          status: 'incompatible',
          imageId,
          detail: `${this.#o.command.join(' ')} exited with code ${state.ExitCode}${tail ? `: ${tail}` : ''}`,
        };
      }
      return {
        status: judged.compatible ? 'compatible' : 'incompatible',
        version: judged.version,
        imageId,
        detail: judged.compatible
          ? `jupyterhub ${judged.version}`
          : `jupyterhub ${judged.version} is older than 4, whose single-user protocol Berth needs`,
      };
    } catch (err) {
      return { status: 'failed', imageId, detail: errorMessage(err) };
    } finally {
      await container?.remove({ force: true }).catch(() => undefined);
    }
  }

  /**
   * Remove probe containers a previous hub left behind (it died while a probe ran, before its `finally`). Run at
   * start, before any probe of this hub's; returns how many went. Never touches servers: only this deployment's
   * containers labelled as probes.
   */
  async removeLeftoverProbes(): Promise<number> {
    const filters = JSON.stringify({
      label: [`${LABEL_MANAGED}=true`, `${LABEL_DEPLOYMENT}=${this.#o.deploymentId}`, `${LABEL_PROBE}=true`],
    });
    const left = await this.#o.docker.listContainers({ all: true, filters });
    let removed = 0;
    for (const c of left) {
      if (c.Labels?.[LABEL_PROBE] !== 'true' || c.Labels?.[LABEL_DEPLOYMENT] !== this.#o.deploymentId)
        continue;
      await this.#o.docker
        .getContainer(c.Id)
        .remove({ force: true })
        .then(() => removed++)
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
    }
    return removed;
  }

  /** The probe container: hardened like a server, and offline. */
  createOptions(imageId: string): Dockerode.ContainerCreateOptions {
    return {
      // Named and labelled like a server (the Docker API guard asks for both); the user label is empty, which
      // no user name can be, and the probe label keeps it out of the spawner's list.
      name: `${this.#o.prefix}-probe-${randomBytes(6).toString('hex')}`,
      Image: imageId,
      Cmd: [...this.#o.command],
      User: this.#o.user,
      Env: ['JUPYTERHUB_DISABLE_USER_CONFIG=1'],
      Labels: {
        [LABEL_MANAGED]: 'true',
        [LABEL_DEPLOYMENT]: this.#o.deploymentId,
        [LABEL_USER]: '',
        [LABEL_SERVER]: '',
        [LABEL_PROBE]: 'true',
      },
      NetworkDisabled: true,
      HostConfig: {
        NetworkMode: 'none',
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        CapAdd: [],
        SecurityOpt: ['no-new-privileges:true'],
        Privileged: false,
        Memory: 512 * 1024 ** 2,
        MemorySwap: 512 * 1024 ** 2,
        NanoCpus: 1e9,
        PidsLimit: 128,
        Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=16m' },
        Binds: [],
        Mounts: [],
        PortBindings: {},
        PublishAllPorts: false,
        IpcMode: 'private',
        RestartPolicy: { Name: 'no' },
        LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } },
      },
    };
  }

  /** True when the container stopped within the timeout. */
  async #waitFor(container: DockerContainer): Promise<boolean> {
    const signal = AbortSignal.timeout(this.#o.probeTimeoutMs);
    try {
      await container.wait({ condition: 'not-running', abortSignal: signal });
      return true;
    } catch {
      return !(await container.inspect()).State.Running;
    }
  }
}

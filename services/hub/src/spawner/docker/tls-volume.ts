/**
 * Delivering a server's TLS files without mounting anything of the host: a small per-server volume, filled
 * through the Docker archive API (PUT /containers/{id}/archive) into a helper container that mounts it and is
 * created but never started, then removed. The server mounts the volume read-only.
 *
 * This is how dockerspawner's move_certs does it too; the helper never runs, so it needs no command, network
 * or privileges, and its image is the server's own (already present and checked).
 */

import type Dockerode from 'dockerode';
import { pack } from 'tar-stream';
import type { DockerClient } from './client.ts';
import { isNotFound } from './errors.ts';
import { isBerth, isOurs } from './labels.ts';

/** Where the files appear in the server's container (read-only). */
export const SERVER_TLS_DIR = '/etc/berth/tls';
export const SERVER_TLS_FILES = {
  key: `${SERVER_TLS_DIR}/server.key`,
  cert: `${SERVER_TLS_DIR}/server.crt`,
  clientCa: `${SERVER_TLS_DIR}/client-ca.pem`,
} as const;

export interface TlsFilesPem {
  readonly keyPem: string;
  readonly certPem: string;
  readonly clientCaPem: string;
}

/** A tar of the three files, owned by the server's uid:gid; the key is 0400, the rest 0444. */
export async function tlsArchive(files: TlsFilesPem, uid: number, gid: number): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  const mtime = new Date();
  const entry = (name: string, text: string, mode: number) =>
    new Promise<void>((resolve, reject) =>
      p.entry({ name, mode, uid, gid, mtime }, text, (err) => (err ? reject(err) : resolve())),
    );
  await entry('server.key', files.keyPem, 0o400);
  await entry('server.crt', files.certPem, 0o444);
  await entry('client-ca.pem', files.clientCaPem, 0o444);
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** The environment jupyterhub-singleuser reads for internal TLS (PROTOCOL.md), pointing at the files. */
export function tlsEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {
    ...env,
    JUPYTERHUB_SSL_KEYFILE: SERVER_TLS_FILES.key,
    JUPYTERHUB_SSL_CERTFILE: SERVER_TLS_FILES.cert,
    JUPYTERHUB_SSL_CLIENT_CA: SERVER_TLS_FILES.clientCa,
  };
  const service = env.JUPYTERHUB_SERVICE_URL;
  if (service?.startsWith('http://')) out.JUPYTERHUB_SERVICE_URL = `https://${service.slice(7)}`;
  return out;
}

/** Issues a server's certificate for the names it is reached by (the hub's notebooks CA). */
export interface TlsIssuer {
  issue(req: { user: string; serverName: string; hostnames: readonly string[] }): Promise<TlsFilesPem>;
}

/** Labels a container whose server speaks https, so a restarted hub rebuilds an https URL. */
export const LABEL_TLS = 'org.berth.tls';

/** The server's create options plus its TLS volume, mounted read-only, and the label. */
export function withTlsMount(
  opts: Dockerode.ContainerCreateOptions,
  volumeName: string,
): Dockerode.ContainerCreateOptions {
  const host = opts.HostConfig ?? {};
  return {
    ...opts,
    Labels: { ...opts.Labels, [LABEL_TLS]: 'true' },
    HostConfig: {
      ...host,
      Mounts: [
        ...(host.Mounts ?? []),
        { Type: 'volume', Source: volumeName, Target: SERVER_TLS_DIR, ReadOnly: true },
      ],
    },
  };
}

export interface FillOptions {
  readonly volumeName: string;
  readonly helperName: string;
  readonly imageId: string;
  /** 'uid:gid' of the server. */
  readonly user: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly deploymentId: string;
  readonly files: TlsFilesPem;
}

/** Create (or reuse) the volume and write the files into it. Leaves no helper container behind. */
export async function fillTlsVolume(docker: DockerClient, o: FillOptions): Promise<void> {
  const existing = await docker
    .getVolume(o.volumeName)
    .inspect()
    .catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  if (!existing) await docker.createVolume({ Name: o.volumeName, Labels: { ...o.labels } });
  else if (!isOurs(existing.Labels, o.deploymentId)) {
    throw new Error(
      `volume ${o.volumeName} ${isBerth(existing.Labels) ? 'belongs to another Berth deployment' : 'is not Berth\u2019s'}`,
    );
  }
  await removeHelper(docker, o.helperName, o.deploymentId);
  const [uid, gid] = o.user.split(':').map(Number) as [number, number];
  const tar = await tlsArchive(o.files, uid, gid);
  const helper = await docker.createContainer(helperOptions(o));
  try {
    // Writing the same three files twice is harmless, so a connection the engine (or the Docker API guard) closed
    // between keep-alive requests is retried once instead of failing the spawn.
    const put = () => helper.putArchive(tar, { path: '/tls' });
    await put().catch((err: unknown) => {
      if (!isConnectionDrop(err)) throw err;
      return put();
    });
  } finally {
    await helper.remove({ force: true }).catch(() => undefined);
  }
}

function isConnectionDrop(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ECONNRESET';
}

/** The never-started helper: no network, no capabilities, nothing but the volume. */
export function helperOptions(o: FillOptions): Dockerode.ContainerCreateOptions {
  return {
    name: o.helperName,
    Image: o.imageId,
    User: o.user,
    Labels: { ...o.labels },
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      Privileged: false,
      Binds: [],
      Mounts: [{ Type: 'volume', Source: o.volumeName, Target: '/tls', ReadOnly: false }],
      RestartPolicy: { Name: 'no' },
    },
  };
}

/** A helper left by a crash between create and remove. */
async function removeHelper(docker: DockerClient, name: string, deploymentId: string): Promise<void> {
  const info = await docker
    .getContainer(name)
    .inspect()
    .catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  if (!info) return;
  if (!isOurs(info.Config.Labels, deploymentId)) throw new Error(`a container named ${name} is not ours`);
  await docker
    .getContainer(info.Id)
    .remove({ force: true })
    .catch(() => undefined);
}

/** Remove the volume once its server's container is gone; a missing volume is fine. */
export async function removeTlsVolume(
  docker: DockerClient,
  name: string,
  deploymentId: string,
): Promise<void> {
  const vol = docker.getVolume(name);
  const info = await vol.inspect().catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
  if (!info || !isOurs(info.Labels, deploymentId)) return;
  await vol.remove().catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
}

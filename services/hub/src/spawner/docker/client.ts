/**
 * The subset of the Docker API the spawner uses, typed structurally (kysely-style): a real `Dockerode`
 * instance satisfies it, and so can a narrow proxy or a test double. Keeping the subset small documents
 * exactly what the hub's access to Docker is used for (see docs/spawner.md).
 */
import type Dockerode from 'dockerode';

export interface DockerContainer {
  readonly id: string;
  inspect(): Promise<Dockerode.ContainerInspectInfo>;
  start(): Promise<unknown>;
  stop(options: { t: number }): Promise<unknown>;
  remove(options: { force: boolean }): Promise<unknown>;
  wait(options: { condition: 'not-running'; abortSignal?: AbortSignal }): Promise<unknown>;
  logs(options: { stdout: true; stderr: true; tail: number; follow: false }): Promise<Buffer>;
  /** Only with internal TLS: writes the server's certificate files into a never-started helper. */
  putArchive(file: Buffer | NodeJS.ReadableStream, options: { path: string }): Promise<unknown>;
  /** Only to archive a deleted user's home volume: a tar of `path`, read from a never-started helper. */
  getArchive(options: { path: string }): Promise<NodeJS.ReadableStream>;
}

export interface DockerNetwork {
  inspect(): Promise<{
    readonly Id: string;
    readonly Labels?: Record<string, string> | null;
    readonly Containers?: Record<string, unknown>;
  }>;
  connect(options: { Container: string; EndpointConfig?: { Aliases?: string[] } }): Promise<unknown>;
  disconnect(options: { Container: string; Force?: boolean }): Promise<unknown>;
  remove(): Promise<unknown>;
}

export interface DockerClient {
  getImage(name: string): {
    inspect(): Promise<{ readonly Id: string; readonly RepoDigests?: readonly string[] | null }>;
  };
  getVolume(name: string): {
    inspect(): Promise<{ readonly Name: string; readonly Labels: Record<string, string> | null }>;
    /** Only with internal TLS: the server's certificate volume, once its container is gone. */
    remove(): Promise<unknown>;
  };
  createVolume(options: { Name: string; Labels: Record<string, string> }): Promise<unknown>;
  createContainer(options: Dockerode.ContainerCreateOptions): Promise<DockerContainer>;
  getContainer(idOrName: string): DockerContainer;
  listContainers(options: { all: boolean; filters: string }): Promise<Dockerode.ContainerInfo[]>;
  /** Only to find a deleted user's home volumes (home-volumes.ts). */
  listVolumes(options: { filters: string }): Promise<{
    readonly Volumes:
      | readonly { readonly Name: string; readonly Labels: Record<string, string> | null }[]
      | null;
  }>;
  /** Only to pull a missing image by its digest (image-pull.ts): the progress stream. */
  createImage(options: {
    fromImage: string;
    tag: string;
    abortSignal?: AbortSignal;
  }): Promise<NodeJS.ReadableStream>;
  /** Only with per-server networks (`serverNetworks`). */
  createNetwork(options: Dockerode.NetworkCreateOptions): Promise<unknown>;
  getNetwork(id: string): DockerNetwork;
}

/**
 * The subset of the Docker Swarm API (a manager's /services, /tasks, /nodes and /secrets) the Swarm spawner
 * uses, as plain JSON shapes. {@link swarmClient} adapts a Dockerode instance (on a manager's socket, or the
 * Docker API guard's) to it; tests may pass a double with the same shape.
 */
import type Dockerode from 'dockerode';

type Labels = Readonly<Record<string, string>>;

export interface ServiceInfo {
  readonly ID: string;
  readonly Spec?: {
    readonly Name?: string;
    readonly Labels?: Labels | null;
  };
}

export interface TaskInfo {
  readonly ID: string;
  readonly ServiceID?: string;
  readonly NodeID?: string;
  readonly CreatedAt?: string;
  readonly DesiredState?: string;
  readonly Status?: {
    readonly State?: string;
    readonly Message?: string;
    readonly Err?: string;
    readonly ContainerStatus?: { readonly ContainerID?: string; readonly ExitCode?: number };
  };
}

export interface NodeInfo {
  readonly ID: string;
  readonly Description?: { readonly Hostname?: string };
  readonly Status?: { readonly State?: string };
}

export interface SecretInfo {
  readonly ID: string;
  readonly Spec?: { readonly Name?: string; readonly Labels?: Labels | null };
}

export interface SwarmClient {
  createService(spec: Dockerode.ServiceSpec): Promise<{ readonly id: string }>;
  inspectService(idOrName: string): Promise<ServiceInfo>;
  removeService(id: string): Promise<unknown>;
  /** Multiplexed stdout/stderr of the service's tasks (not a TTY). */
  serviceLogs(id: string, options: { tail: number }): Promise<Buffer>;
  listServices(options: { filters: string }): Promise<ServiceInfo[]>;
  listTasks(options: { filters: string }): Promise<TaskInfo[]>;
  listNodes(): Promise<NodeInfo[]>;
  /** Data is base64, as the API takes it. */
  createSecret(options: { Name: string; Data: string; Labels: Labels }): Promise<{ readonly id: string }>;
  listSecrets(options: { filters: string }): Promise<SecretInfo[]>;
  removeSecret(id: string): Promise<unknown>;
}

/** The Swarm calls on a Dockerode instance (whose typings describe list results as handles, not JSON). */
export function swarmClient(docker: Dockerode): SwarmClient {
  return {
    createService: async (spec) => ({ id: (await docker.createService(spec)).id }),
    inspectService: (id) => docker.getService(id).inspect() as Promise<ServiceInfo>,
    removeService: (id) => docker.getService(id).remove(),
    serviceLogs: async (id, { tail }) => {
      const out = await docker.getService(id).logs({ stdout: true, stderr: true, tail, follow: false });
      return Buffer.isBuffer(out) ? out : Buffer.from(String(out));
    },
    listServices: (o) => docker.listServices(o) as unknown as Promise<ServiceInfo[]>,
    listTasks: (o) => docker.listTasks(o) as Promise<TaskInfo[]>,
    listNodes: () => docker.listNodes() as Promise<NodeInfo[]>,
    createSecret: async (o) => {
      const s = (await docker.createSecret(o)) as { id: string };
      return { id: s.id };
    },
    listSecrets: (o) => docker.listSecrets(o) as unknown as Promise<SecretInfo[]>,
    removeSecret: (id) => docker.getSecret(id).remove(),
  };
}

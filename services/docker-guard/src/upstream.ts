/** The guard's own read-only look-ups on the real engine (inspects), used to decide before forwarding. */
import { request } from 'node:http';

export interface UpstreamAnswer {
  readonly status: number;
  readonly body: unknown;
}

export class Upstream {
  readonly socketPath: string;

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  /** GET `path` on the engine; JSON body (or undefined). Rejects only when the engine cannot be reached. */
  get(path: string): Promise<UpstreamAnswer> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, path, method: 'GET', timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 502, body });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('engine timed out')));
      req.on('error', reject);
      req.end();
    });
  }
}

/** The parts of inspect answers the guard reads. */
export interface ContainerInspect {
  readonly Id: string;
  readonly Config?: { readonly Labels?: Record<string, string> | null };
  readonly State?: { readonly Status?: string; readonly StartedAt?: string };
  readonly HostConfig?: {
    readonly NetworkMode?: string;
    readonly Memory?: number;
    readonly MemorySwap?: number;
    readonly NanoCpus?: number;
    readonly CpuQuota?: number;
    readonly CpuPeriod?: number;
    readonly PidsLimit?: number | null;
  };
  readonly Mounts?: readonly {
    readonly Type?: string;
    readonly Name?: string;
    readonly Destination?: string;
    readonly RW?: boolean;
  }[];
}

export interface LabelledInspect {
  readonly Labels?: Record<string, string> | null;
  readonly Name?: string;
}

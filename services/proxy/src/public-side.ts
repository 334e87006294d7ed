/** Where the public listener runs: in this process, or in worker processes (src/worker-pool.ts). */
import type { Replicas } from './api.ts';

export interface PublicSide {
  /** Start listening; resolves with the public port actually bound. */
  listen(): Promise<number>;
  /** Open client connections on the public listener now. */
  openSockets(): Promise<number>;
  /** Stop: in-flight requests get `graceMs`, WebSockets are cut. */
  close(graceMs: number): Promise<void>;
  /** Copies of the route table the API must keep in step (worker mode only). */
  readonly replicas?: Replicas;
}

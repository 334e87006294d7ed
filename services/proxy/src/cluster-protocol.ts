/**
 * Messages between the primary (route table, REST API, metrics) and the workers (public listener), over the
 * cluster's IPC channel. The channel is ordered, so a worker applies changes in the order the API made them.
 */
import type { AgentTls } from './agents.ts';
import type { LogLevel } from './config.ts';

/** What a worker needs to serve the public listener: no API token, no API TLS key. */
export interface WorkerSettings {
  readonly port: number;
  readonly host: string;
  readonly hostRouting: boolean;
  readonly errorTarget: string | undefined;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly wsActivityIntervalMs: number;
  readonly logLevel: LogLevel;
  readonly tls: AgentTls;
}

/** A route as copied to a worker: `[path, target, data, last activity in epoch ms]`. */
export type RouteCopy = readonly [string, string, Readonly<Record<string, unknown>>, number];

/** A worker's activity since it last reported: `[path, target, epoch ms]`. */
export type ActivityStamp = readonly [string, string, number];

export type ToWorker =
  | { readonly t: 'init'; readonly settings: WorkerSettings; readonly routes: readonly RouteCopy[] }
  | { readonly t: 'add'; readonly id: number; readonly route: RouteCopy }
  | { readonly t: 'remove'; readonly id: number; readonly path: string }
  | { readonly t: 'collect'; readonly id: number }
  | { readonly t: 'metrics'; readonly id: number }
  | { readonly t: 'shutdown'; readonly graceMs: number };

export type FromWorker =
  | { readonly t: 'listening'; readonly port: number }
  | { readonly t: 'listen-failed'; readonly message: string }
  | { readonly t: 'ack'; readonly id: number }
  | { readonly t: 'activity'; readonly id: number; readonly stamps: readonly ActivityStamp[] }
  /** The worker's registry as prom-client's JSON, for the primary to aggregate. */
  | { readonly t: 'metrics'; readonly id: number; readonly metrics: unknown };

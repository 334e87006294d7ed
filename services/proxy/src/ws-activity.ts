/**
 * WebSocket bookkeeping: which route each proxied WebSocket belongs to, activity stamps on its traffic, and the
 * set of open sockets, to cut them on shutdown.
 *
 * Activity is read, not listened for: one timer per interval compares each open WebSocket's byte counters with
 * the last sweep and stamps the routes whose sockets moved. Nothing runs per message (a `data` listener on both
 * sockets cost a call per chunk on the busiest path the proxy has), and a stamp is at most one interval late.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyServer } from 'http-proxy-3';
import type { Route, RouteTable } from './route-table.ts';

interface Connection {
  readonly route: Route;
  readonly client: Duplex;
}

interface Piped {
  readonly route: Route;
  readonly client: Socket;
  readonly upstream: Socket;
  /** Bytes read on both sockets at the last sweep. */
  bytes: number;
}

/** The sweep runs at the configured interval, but not more often than this (an interval of 0 is "every sweep"). */
const MIN_SWEEP_MS = 100;

export class WebSocketActivity {
  readonly #routes: RouteTable;
  readonly #intervalMs: number;
  readonly #pending = new WeakMap<IncomingMessage, Route>();
  readonly #opening = new WeakMap<Duplex, Connection>();
  readonly #open = new Set<Duplex>();
  readonly #piped = new Set<Piped>();
  #sweeper: NodeJS.Timeout | undefined;
  readonly #upgradeListeners: ((client: Duplex) => void)[] = [];

  constructor(proxy: ProxyServer, routes: RouteTable, intervalMs: number) {
    this.#routes = routes;
    this.#intervalMs = intervalMs;
    // Emitted before http-proxy-3 adds its own `upgrade` listener, so ours runs first.
    proxy.on('proxyReqWs', (proxyReq: ClientRequest, req: IncomingMessage, client: Socket) => {
      const route = this.#pending.get(req);
      if (route === undefined) return;
      proxyReq.once('upgrade', (_res: IncomingMessage, upstream: Duplex) => {
        for (const listener of this.#upgradeListeners) listener(client);
        this.#opening.set(upstream, { route, client });
      });
    });
    // Emitted once both sockets are piped together.
    proxy.on('open', (upstream: Socket) => {
      const connection = this.#opening.get(upstream);
      if (connection === undefined) return;
      this.#opening.delete(upstream);
      this.#routes.touch(connection.route);
      const client = connection.client as Socket;
      const piped: Piped = { route: connection.route, client, upstream, bytes: bytesOf(client, upstream) };
      this.#piped.add(piped);
      upstream.once('close', () => this.#unpipe(piped));
      client.once('close', () => this.#unpipe(piped));
      this.#sweeper ??= setInterval(() => this.#sweep(), Math.max(MIN_SWEEP_MS, this.#intervalMs)).unref();
    });
  }

  #sweep(): void {
    for (const piped of this.#piped) {
      const bytes = bytesOf(piped.client, piped.upstream);
      if (bytes !== piped.bytes) {
        piped.bytes = bytes;
        this.#routes.touch(piped.route);
      }
    }
  }

  #unpipe(piped: Piped): void {
    if (!this.#piped.delete(piped)) return;
    // Traffic since the last sweep still counts.
    if (bytesOf(piped.client, piped.upstream) !== piped.bytes) this.#routes.touch(piped.route);
    if (this.#piped.size === 0 && this.#sweeper !== undefined) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /** Remember the route of an upgrade request about to be proxied, and its client socket until it closes. */
  track(req: IncomingMessage, client: Duplex, route: Route): void {
    this.#pending.set(req, route);
    this.#open.add(client);
    client.once('close', () => this.#open.delete(client));
  }

  /** Called with the client socket once the upstream has accepted the upgrade (101). */
  onUpgrade(listener: (client: Duplex) => void): void {
    this.#upgradeListeners.push(listener);
  }

  destroyAll(): void {
    for (const client of this.#open) client.destroy();
    this.#open.clear();
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }
}

function bytesOf(client: Socket, upstream: Socket): number {
  return (client.bytesRead ?? 0) + (upstream.bytesRead ?? 0);
}

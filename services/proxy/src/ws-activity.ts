/**
 * WebSocket bookkeeping: which route each proxied WebSocket belongs to, activity stamps on its traffic (at most
 * once per interval per connection, never per chunk), and the set of open sockets, to cut them on shutdown.
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

export class WebSocketActivity {
  readonly #routes: RouteTable;
  readonly #intervalMs: number;
  readonly #pending = new WeakMap<IncomingMessage, Route>();
  readonly #opening = new WeakMap<Duplex, Connection>();
  readonly #open = new Set<Duplex>();
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
    // Emitted once both sockets are piped together: listening to `data` now takes nothing from the pipe.
    proxy.on('open', (upstream: Socket) => {
      const connection = this.#opening.get(upstream);
      if (connection === undefined) return;
      this.#opening.delete(upstream);
      const stamp = this.#throttledStamp(connection.route);
      stamp();
      upstream.on('data', stamp);
      connection.client.on('data', stamp);
    });
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
  }

  #throttledStamp(route: Route): () => void {
    let last = Number.NEGATIVE_INFINITY;
    return () => {
      const now = performance.now();
      if (now - last < this.#intervalMs) return;
      last = now;
      this.#routes.touch(route);
    };
  }
}

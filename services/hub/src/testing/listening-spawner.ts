import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Spawner, SpawnerState, SpawnerStatus, SpawnRequest, Started } from '../spawner/spawner.ts';

/**
 * A healthy single-user server without a container: each start opens a real HTTP listener on 127.0.0.1 that
 * answers like `jupyterhub-singleuser` would at `<prefix>api`. For hub-logic tests of the lifecycle and OAuth.
 */
export class ListeningSpawner implements Spawner {
  readonly #servers = new Map<string, Server>();
  readonly requests: SpawnRequest[] = [];

  async start(req: SpawnRequest): Promise<Started> {
    this.requests.push(req);
    const server = createServer((r, res) => {
      res.setHeader('x-jupyterhub-version', '5.3.0');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: r.url, user: req.user }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const id = `ls-${this.#servers.size}-${Date.now()}`;
    this.#servers.set(id, server);
    const port = (server.address() as AddressInfo).port;
    return { url: `http://127.0.0.1:${port}`, state: { id } };
  }

  async stop(state: SpawnerState): Promise<void> {
    const s = this.#servers.get(String(state.id));
    if (!s) return;
    this.#servers.delete(String(state.id));
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  async status(state: SpawnerState): Promise<SpawnerStatus> {
    return this.#servers.has(String(state.id)) ? { state: 'running' } : { state: 'stopped' };
  }

  /** Close every listener (the harness calls this so a test file can exit). */
  async closeAll(): Promise<void> {
    for (const id of [...this.#servers.keys()]) await this.stop({ id });
  }

  get running(): number {
    return this.#servers.size;
  }
}

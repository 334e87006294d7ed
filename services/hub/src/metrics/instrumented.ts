import type { ProxyRoute, RouteTable } from '../proxy/client.ts';
import type {
  Spawner,
  SpawnerState,
  SpawnerStatus,
  SpawnProgress,
  SpawnRequest,
  Started,
} from '../spawner/spawner.ts';
import type { HubMetrics } from './hub-metrics.ts';

/** The route table, timed into the proxy metrics; behaviour unchanged. */
export function instrumentRoutes(routes: RouteTable, m: HubMetrics): RouteTable {
  const timed: RouteTable = {
    add: (path: string, target: string, data?: Record<string, unknown>) =>
      m.time(m.proxyAddDuration, () => routes.add(path, target, data)),
    remove: (path: string) => m.time(m.proxyDeleteDuration, () => routes.remove(path)),
    list: (): Promise<Record<string, ProxyRoute>> =>
      m.time(
        m.proxyPollDuration,
        () => routes.list(),
        () => ({}),
      ),
  };
  if (routes.epoch) {
    const epoch = routes.epoch.bind(routes);
    return { ...timed, epoch };
  }
  return timed;
}

/**
 * The spawner, timed: container start (spawn, `success`/`failure`), stop, and status polls (`running`/`stopped`).
 * Every other method (today's and tomorrow's optional ones) passes through, bound to the real spawner.
 */
export function instrumentSpawner(spawner: Spawner, m: HubMetrics): Spawner {
  const timed: Partial<Spawner> = {
    start: (req: SpawnRequest, signal?: AbortSignal, progress?: SpawnProgress): Promise<Started> =>
      m.time(
        m.spawnDuration,
        () => spawner.start(req, signal, progress),
        (r) => ({ status: r.ok ? 'success' : 'failure', reason: r.ok ? 'started' : 'error' }),
      ),
    stop: (state: SpawnerState): Promise<void> => m.time(m.stopDuration, () => spawner.stop(state)),
    status: (state: SpawnerState): Promise<SpawnerStatus> =>
      m.time(
        m.pollDuration,
        () => spawner.status(state),
        (r) => ({ status: r.ok && r.value.state !== 'stopped' ? 'running' : 'stopped' }),
      ),
  };
  return new Proxy(spawner, {
    get(target, prop) {
      if (typeof prop === 'string' && prop in timed) return timed[prop as keyof Spawner];
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

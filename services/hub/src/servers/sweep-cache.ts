import type { SweepCache } from '../spawner/spawner.ts';

/**
 * A fresh cache for one sweep: what every server needs (e.g. who joins server networks) is looked up once per
 * sweep rather than once per server. A failed lookup stays failed for the rest of that sweep only.
 */
export function sweepCache(): SweepCache {
  const loaded = new Map<string, Promise<unknown>>();
  return {
    once<T>(key: string, load: () => Promise<T>): Promise<T> {
      let p = loaded.get(key);
      if (!p) {
        p = load();
        loaded.set(key, p);
      }
      return p as Promise<T>;
    },
  };
}

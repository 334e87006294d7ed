import { type Dispatcher, fetch as undiciFetch } from 'undici';

export type ReadyOutcome =
  | { readonly ok: true; readonly version: string | null }
  | { readonly ok: false; readonly reason: 'timeout' | 'aborted' | 'exited'; readonly detail?: string };

export interface WaitOptions {
  /** e.g. http://berth-alice:8888/user/alice/api */
  readonly url: string;
  readonly startTimeoutMs: number;
  readonly httpTimeoutMs: number;
  readonly signal?: AbortSignal;
  /** Checked between polls; returning a string ends the wait as `exited` with that detail. */
  readonly stillAlive?: () => Promise<string | undefined>;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  /**
   * Internal TLS: the connection pool that verifies the server against notebooks-ca (and its name) and presents
   * the hub's client certificate.
   */
  readonly dispatcher?: Dispatcher;
}

/**
 * The wait between two polls: a server is found ready at most this long after it is. A refused connect (the
 * server not listening yet) costs nothing, and a backoff to 200 ms, then 1 s, showed in bench/spawn as a
 * hub spawn slower than a raw `docker run` polled at this interval.
 */
const POLL_INTERVAL_MS = 50;
/** How often, while waiting, the backend is asked whether the server's process still runs. */
const ALIVE_CHECK_INTERVAL_MS = 2_000;

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** Poll until the server answers below 500, as JupyterHub does. Wait, don't sleep blindly. */
export async function waitForServer(o: WaitOptions): Promise<ReadyOutcome> {
  const sleep = o.sleep ?? defaultSleep;
  const now = o.now ?? Date.now;
  const deadline = now() + o.startTimeoutMs;
  // The backend is asked whether the server still runs at most this often (a Docker inspect each time).
  let lastAliveCheck = now();
  while (now() < deadline) {
    if (o.signal?.aborted) return { ok: false, reason: 'aborted' };
    try {
      const init = {
        redirect: 'manual' as const,
        signal: AbortSignal.timeout(Math.min(o.httpTimeoutMs, Math.max(1, deadline - now()))),
      };
      const res = o.dispatcher
        ? await undiciFetch(o.url, { ...init, dispatcher: o.dispatcher })
        : await fetch(o.url, init);
      await res.body?.cancel();
      if (res.status < 500) return { ok: true, version: res.headers.get('x-jupyterhub-version') };
    } catch {
      // not up yet
    }
    if (o.stillAlive && now() - lastAliveCheck >= ALIVE_CHECK_INTERVAL_MS) {
      lastAliveCheck = now();
      const dead = await o.stillAlive();
      if (dead) return { ok: false, reason: 'exited', detail: dead };
    }
    await sleep(POLL_INTERVAL_MS);
  }
  return { ok: false, reason: 'timeout' };
}

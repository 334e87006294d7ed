/**
 * Keeps the proxy's route table in sync with the database, and heals it within about a second of a proxy restart.
 *
 * The proxy keeps routes in memory only, so a restarted proxy knows none of them, and until the hub adds them
 * again every `/user/<name>/` request falls through to the hub (JupyterHub #4369, #775: 404s and redirect loops
 * for up to five minutes). So the hub probes the proxy every `probeIntervalMs` (1 s) and reconciles at once when:
 *   - it has not reconciled yet (hub start);
 *   - the proxy's epoch changed: Berth's proxy draws a new id at every start, so even a restart quicker than one
 *     probe is seen;
 *   - the proxy answers again after a failed probe (a proxy without an epoch, such as stock CHP, is healed this way);
 *   - `reconcileIntervalMs` (5 s) passed since the last reconcile, whatever the probe says.
 * A reconcile that fails is retried at the next probe. Ticks never overlap.
 */

export type SyncReason = 'start' | 'restart' | 'recovered' | 'periodic';

export type SyncOutcome =
  | { readonly kind: 'in-sync' }
  | { readonly kind: 'reconciled'; readonly reason: SyncReason }
  | { readonly kind: 'proxy-down'; readonly error: string }
  | { readonly kind: 'reconcile-failed'; readonly reason: SyncReason; readonly error: string }
  | { readonly kind: 'busy' };

export interface SyncLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RouteSyncOptions {
  /** The proxy's current epoch (`undefined` when it has none); rejects when the proxy is unreachable. */
  readonly probe: () => Promise<string | undefined>;
  /** Make the proxy's routes match the database. */
  readonly reconcile: () => Promise<unknown>;
  readonly log: SyncLog;
  readonly probeIntervalMs?: number;
  readonly reconcileIntervalMs?: number;
  readonly now?: () => number;
}

export class RouteSync {
  readonly #opts: RouteSyncOptions;
  readonly #now: () => number;
  readonly #reconcileIntervalMs: number;
  #synced = false;
  #epoch: string | undefined;
  #down = false;
  #lastReconcile = 0;
  #running: Promise<SyncOutcome> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: RouteSyncOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#reconcileIntervalMs = opts.reconcileIntervalMs ?? 5_000;
  }

  /** One probe, and a reconcile if one is due. Resolves `busy` while a previous tick is still running. */
  tick(): Promise<SyncOutcome> {
    if (this.#running) return Promise.resolve({ kind: 'busy' });
    this.#running = this.#tick().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #tick(): Promise<SyncOutcome> {
    let epoch: string | undefined;
    try {
      epoch = await this.#opts.probe();
    } catch (err) {
      if (!this.#down)
        this.#opts.log.warn({ err: String(err) }, 'proxy unreachable; routes resync when it is back');
      this.#down = true;
      return { kind: 'proxy-down', error: String(err) };
    }
    const reason = this.#due(epoch);
    if (reason === undefined) return { kind: 'in-sync' };
    try {
      await this.#opts.reconcile();
    } catch (err) {
      this.#opts.log.warn({ reason, err: String(err) }, 'route sync failed; retrying at the next probe');
      return { kind: 'reconcile-failed', reason, error: String(err) };
    }
    if (reason !== 'periodic') this.#opts.log.info({ reason, epoch: epoch ?? null }, 'proxy routes resynced');
    this.#synced = true;
    this.#epoch = epoch;
    this.#down = false;
    this.#lastReconcile = this.#now();
    return { kind: 'reconciled', reason };
  }

  #due(epoch: string | undefined): SyncReason | undefined {
    if (!this.#synced) return 'start';
    if (epoch !== this.#epoch) return 'restart';
    if (this.#down) return 'recovered';
    if (this.#now() - this.#lastReconcile >= this.#reconcileIntervalMs) return 'periodic';
    return undefined;
  }

  /** Tick every `probeIntervalMs` until `stop()`. The timer does not keep the process alive. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.tick(), this.#opts.probeIntervalMs ?? 1_000);
    this.#timer.unref();
  }

  /** Stop ticking; resolves when a tick in progress has finished. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}

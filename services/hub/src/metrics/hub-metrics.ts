import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** What the gauges read at scrape time (from the database), so they are never stale. */
export interface MetricSources {
  totalUsers(): Promise<number>;
  runningServers(): Promise<number>;
  /** Users active since `since`. */
  activeUsers(since: Date): Promise<number>;
}

/** JupyterHub's buckets for spawn durations (metrics.py), in seconds. */
const SPAWN_BUCKETS = [0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 180, 300, 600];
const PERIODS = { '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const;

/**
 * The hub's own metrics, named as JupyterHub's metrics.py (prefix `jupyterhub_`) so dashboards built for it
 * work, in a registry of their own plus Node's process metrics. Served at /hub/metrics (scope read:metrics).
 */
export class HubMetrics {
  readonly registry = new Registry();
  readonly requestDuration: Histogram<'method' | 'handler' | 'code'>;
  readonly spawnDuration: Histogram<'status' | 'reason'>;
  readonly stopDuration: Histogram<'status'>;
  readonly pollDuration: Histogram<'status'>;
  readonly proxyAddDuration: Histogram<'status'>;
  readonly proxyDeleteDuration: Histogram<'status'>;
  readonly proxyPollDuration: Histogram;
  readonly checkRoutesDuration: Histogram;
  readonly loginDuration: Histogram<'status'>;
  readonly logoutDuration: Histogram;
  readonly hubStartupDuration: Histogram;
  readonly cspReports: Counter;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    const h = <L extends string>(name: string, help: string, labelNames: L[] = [], buckets?: number[]) =>
      new Histogram<L>({
        name: `jupyterhub_${name}`,
        help,
        labelNames,
        registers,
        ...(buckets ? { buckets } : {}),
      });
    this.requestDuration = h('request_duration_seconds', 'Request duration for all HTTP requests', [
      'method',
      'handler',
      'code',
    ]);
    this.spawnDuration = h(
      'server_spawn_duration_seconds',
      'Time taken for server spawning operation',
      ['status', 'reason'],
      SPAWN_BUCKETS,
    );
    this.stopDuration = h('server_stop_seconds', 'Time taken for server stopping operation', ['status']);
    this.pollDuration = h('server_poll_duration_seconds', 'Time taken to poll if server is running', [
      'status',
    ]);
    this.proxyAddDuration = h('proxy_add_duration_seconds', 'Duration for adding user routes to proxy', [
      'status',
    ]);
    this.proxyDeleteDuration = h(
      'proxy_delete_duration_seconds',
      'Duration for deleting user routes from proxy',
      ['status'],
    );
    this.proxyPollDuration = h('proxy_poll_duration_seconds', 'Duration for polling all routes from proxy');
    this.checkRoutesDuration = h(
      'check_routes_duration_seconds',
      'Time taken to validate all routes in proxy',
    );
    this.loginDuration = h('login_duration_seconds', 'duration for all authentication attempts', ['status']);
    this.logoutDuration = h('logout_duration_seconds', 'duration for all logout requests');
    this.hubStartupDuration = h('hub_startup_duration_seconds', 'Time taken for Hub to start');
    this.cspReports = new Counter({
      name: 'jupyterhub_csp_reports',
      help: 'content security policy violation reports',
      registers,
    });
    new Gauge({
      name: 'jupyterhub_total_users',
      help: 'Total number of users',
      registers,
      async collect() {
        this.set(await sources.totalUsers());
      },
    });
    new Gauge({
      name: 'jupyterhub_running_servers',
      help: 'The number of user servers currently running',
      registers,
      async collect() {
        this.set(await sources.runningServers());
      },
    });
    new Gauge({
      name: 'jupyterhub_active_users',
      help: 'Number of users who were active in the given time period',
      labelNames: ['period'],
      registers,
      async collect() {
        const now = Date.now();
        for (const [period, ms] of Object.entries(PERIODS)) {
          this.set({ period }, await sources.activeUsers(new Date(now - ms)));
        }
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** Time `fn` into `hist`, labelled from its outcome. */
  async time<T, L extends string>(
    hist: Histogram<L>,
    fn: () => Promise<T>,
    labels?: (result: { ok: true; value: T } | { ok: false }) => Partial<Record<L, string>>,
  ): Promise<T> {
    // By default a histogram with a `status` label gets success/failure; one without gets none.
    const withStatus = (hist as unknown as { labelNames?: string[] }).labelNames?.includes('status') ?? false;
    const label =
      labels ??
      ((r: { ok: boolean }) =>
        (withStatus ? { status: r.ok ? 'success' : 'failure' } : {}) as Partial<Record<L, string>>);
    const end = hist.startTimer();
    try {
      const value = await fn();
      end(label({ ok: true, value }));
      return value;
    } catch (err) {
      end(label({ ok: false }));
      throw err;
    }
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * Prometheus metrics, served on their own listener (`BERTH_PROXY_METRICS_PORT`, like CHP's `--metrics-port`), so
 * they are never reachable through the public one.
 *
 * The hot path only bumps pre-bound counters and one histogram: status codes are grouped by class (`2xx`…), so
 * label cardinality stays fixed whatever the upstreams answer. Gauges that can be read (routes, open sockets) are
 * read at scrape time instead of being kept up to date on every change.
 */
import type http from 'node:http';
import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';

/** Why the proxy answered a request itself instead of passing on the target's answer. */
export type ProxyErrorKind = 'no_route' | 'bad_request' | 'upstream' | 'client_aborted';

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const ERROR_KINDS: readonly ProxyErrorKind[] = ['no_route', 'bad_request', 'upstream', 'client_aborted'];

export interface MetricsSources {
  /** The number of routes now. */
  routes(): number;
  /** The number of open client connections on the public listener now. */
  openSockets(): Promise<number>;
}

export class ProxyMetrics {
  readonly registry = new Registry();
  /** By status class: index 0 is `1xx`. */
  readonly #requests: Counter.Internal[];
  readonly #errors: Map<ProxyErrorKind, Counter.Internal>;
  readonly #duration: Histogram<never>;
  readonly #wsOpen: Gauge<never>;
  readonly #wsTotal: Counter<never>;
  readonly #apiRequests: Counter<'method' | 'status'>;
  #sources: MetricsSources | undefined;
  #text: () => Promise<string> = () => this.registry.metrics();

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'berth_proxy_' });
    const requests = new Counter({
      name: 'berth_proxy_http_requests_total',
      help: 'HTTP requests on the public listener, by the class of the status answered',
      labelNames: ['status'] as const,
      registers,
    });
    this.#requests = STATUS_CLASSES.map((c) => requests.labels(c));
    const errors = new Counter({
      name: 'berth_proxy_errors_total',
      help: 'Requests the proxy could not pass on: no route, a bad request, an unreachable target, a client gone',
      labelNames: ['kind'] as const,
      registers,
    });
    this.#errors = new Map(ERROR_KINDS.map((k) => [k, errors.labels(k)]));
    this.#duration = new Histogram({
      name: 'berth_proxy_http_request_duration_seconds',
      help: 'Time from request to the end of the response, on the public listener',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#wsOpen = new Gauge({
      name: 'berth_proxy_websocket_connections',
      help: 'Open proxied WebSocket connections',
      registers,
    });
    this.#wsTotal = new Counter({
      name: 'berth_proxy_websocket_connections_total',
      help: 'Proxied WebSocket connections opened (upstream answered 101)',
      registers,
    });
    this.#apiRequests = new Counter({
      name: 'berth_proxy_api_requests_total',
      help: 'REST API requests, by method and status',
      labelNames: ['method', 'status'] as const,
      registers,
    });
    const metrics = this;
    new Gauge({
      name: 'berth_proxy_routes',
      help: 'Routes in the table',
      registers,
      // Worker mode: every process holds the whole table, so the aggregate is one of them, not their sum.
      aggregator: 'max',
      collect() {
        this.set(metrics.#sources?.routes() ?? 0);
      },
    });
    new Gauge({
      name: 'berth_proxy_open_sockets',
      help: 'Open client connections on the public listener, WebSockets included',
      registers,
      async collect() {
        this.set((await metrics.#sources?.openSockets()) ?? 0);
      },
    });
  }

  /** Where the scrape-time gauges read from; set once the listeners exist. */
  bind(sources: MetricsSources): void {
    this.#sources = sources;
  }

  /**
   * Worker mode: a scrape adds up this registry and the workers' (`workers()` resolves with each one's
   * `getMetricsAsJSON()`). Counters and histograms are summed, the routes gauge is the max.
   */
  aggregateWith(workers: () => Promise<unknown[]>): void {
    this.#text = async () => {
      const all = [await this.registry.getMetricsAsJSON(), ...(await workers())];
      return AggregatorRegistry.aggregate(all as MetricObjectWithValues<MetricValue<string>>[][]).metrics();
    };
  }

  request(status: number, seconds: number): void {
    this.#requests[((status / 100) | 0) - 1]?.inc();
    this.#duration.observe(seconds);
  }

  error(kind: ProxyErrorKind): void {
    this.#errors.get(kind)?.inc();
  }

  webSocketOpened(): void {
    this.#wsOpen.inc();
    this.#wsTotal.inc();
  }

  webSocketClosed(): void {
    this.#wsOpen.dec();
  }

  apiRequest(method: string, status: number): void {
    const known = ['GET', 'POST', 'DELETE'].includes(method) ? method : 'other';
    this.#apiRequests.labels(known, String(status)).inc();
  }

  /** The metrics listener's handler: `GET /metrics` in Prometheus' text format, 404 for anything else. */
  handler(): (req: http.IncomingMessage, res: http.ServerResponse) => void {
    return (req, res) => {
      const path = (req.url ?? '').split('?', 1)[0];
      if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('not found\n');
        return;
      }
      this.#text().then(
        (text) => {
          res.writeHead(200, { 'content-type': this.registry.contentType, 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        () => {
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('metrics unavailable\n');
        },
      );
    };
  }
}

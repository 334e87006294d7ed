import { type Dispatcher, fetch as undiciFetch } from 'undici';

/** A client for configurable-http-proxy's REST API (Berth's proxy speaks the same). */
export interface ProxyRoute {
  readonly target: string;
  readonly [key: string]: unknown;
}

export interface RouteTable {
  add(path: string, target: string, data?: Record<string, unknown>): Promise<void>;
  remove(path: string): Promise<void>;
  list(): Promise<Record<string, ProxyRoute>>;
  /**
   * Which run of the proxy answers: an id that changes at every proxy start (Berth's `X-Berth-Proxy-Epoch`), or
   * `undefined` for a proxy that has none (stock CHP). Rejects when the proxy cannot be reached.
   */
  epoch?(): Promise<string | undefined>;
}

const EPOCH_PATH = '/api/health';

export class ProxyApiError extends Error {
  override readonly name = 'ProxyApiError';
}

export class ChpRouteTable implements RouteTable {
  readonly #base: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #dispatcher: Dispatcher | undefined;

  /** `dispatcher`: internal TLS (mutual), verifying the API against proxy-api-ca with the hub's certificate. */
  constructor(opts: { apiUrl: string; authToken: string; timeoutMs?: number; dispatcher?: Dispatcher }) {
    this.#base = opts.apiUrl.replace(/\/+$/, '');
    this.#token = opts.authToken;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#dispatcher = opts.dispatcher;
  }

  async #call(method: string, path: string, body?: unknown, base = '/api/routes'): Promise<Response> {
    const url = `${this.#base}${base}${path.split('/').map(encodeURIComponent).join('/')}`;
    const init = () => ({
      method,
      headers: {
        authorization: `token ${this.#token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : null,
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    const dispatcher = this.#dispatcher;
    const send = (): Promise<Response> =>
      dispatcher
        ? (undiciFetch(url, { ...init(), dispatcher }) as unknown as Promise<Response>)
        : fetch(url, init());
    let res: Response;
    try {
      // Every call is idempotent (POST sets a route), so a connection error is retried once: after a proxy
      // restart the first try often lands on a keep-alive connection the old process closed.
      res = await send().catch((err: unknown) => {
        if ((err as Error).name === 'TimeoutError') throw err;
        return send();
      });
    } catch (err) {
      throw new ProxyApiError(`proxy API ${method} ${path} unreachable: ${(err as Error).message}`);
    }
    if (res.status === 404 && base === EPOCH_PATH) return res;
    if (res.status >= 300) {
      const text = await res.text().catch(() => '');
      throw new ProxyApiError(`proxy API ${method} ${path} answered ${res.status} ${text.slice(0, 200)}`);
    }
    return res;
  }

  async add(path: string, target: string, data: Record<string, unknown> = {}): Promise<void> {
    await this.#call('POST', path, { ...data, target });
  }

  async remove(path: string): Promise<void> {
    await this.#call('DELETE', path);
  }

  async list(): Promise<Record<string, ProxyRoute>> {
    return (await (await this.#call('GET', '')).json()) as Record<string, ProxyRoute>;
  }

  async epoch(): Promise<string | undefined> {
    const res = await this.#call('GET', '', undefined, EPOCH_PATH);
    await res.body?.cancel();
    return res.headers.get('x-berth-proxy-epoch') ?? undefined;
  }
}

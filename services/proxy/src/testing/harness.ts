/** Start a proxy in-process on ephemeral ports, with a test token, and talk to its two listeners. */
import type { ProxyConfig } from '../config.ts';
import { Secret } from '../secret.ts';
import { type RunningProxy, startProxy } from '../start.ts';
import { request, type TestRequest, type TestResponse } from './http-client.ts';

export const TOKEN = 'test-token-0123456789abcdef';

export function testConfig(overrides: Partial<ProxyConfig> = {}): ProxyConfig {
  return Object.freeze({
    authToken: new Secret(TOKEN),
    port: 0,
    host: '127.0.0.1',
    apiPort: 0,
    apiHost: '127.0.0.1',
    apiTls: undefined,
    targetTls: undefined,
    metricsPort: 0,
    metricsHost: '127.0.0.1',
    defaultTarget: undefined,
    errorTarget: undefined,
    hostRouting: false,
    logLevel: 'silent',
    connectTimeoutMs: 2_000,
    headersTimeoutMs: 60_000,
    keepAliveTimeoutMs: 5_000,
    wsActivityIntervalMs: 0,
    shutdownGraceMs: 1_000,
    workers: 1,
    ...overrides,
  });
}

export interface TestProxy {
  readonly proxy: RunningProxy;
  /** A request to the REST API, with the right token unless `headers.authorization` is given. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<TestResponse>;
  /** A request to the public listener, path sent verbatim. */
  get(path: string, headers?: Record<string, string>): Promise<TestResponse>;
  send(req: TestRequest): Promise<TestResponse>;
  addRoute(path: string, target: string, data?: Record<string, unknown>): Promise<void>;
  /** The route's last_activity as epoch milliseconds. */
  lastActivity(path: string): Promise<number>;
  close(): Promise<void>;
}

export async function startTestProxy(overrides: Partial<ProxyConfig> = {}): Promise<TestProxy> {
  const proxy = await startProxy(testConfig(overrides));
  const api: TestProxy['api'] = (method, path, body, headers = {}) =>
    request(proxy.apiPort, {
      method,
      path,
      headers: { authorization: `token ${TOKEN}`, ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  return {
    proxy,
    api,
    get: (path, headers) => request(proxy.port, { path, ...(headers ? { headers } : {}) }),
    send: (req) => request(proxy.port, req),
    async addRoute(path, target, data = {}) {
      const res = await api('POST', `/api/routes${path}`, { ...data, target });
      if (res.status !== 201) throw new Error(`adding ${path} gave ${res.status} ${res.text}`);
    },
    async lastActivity(path) {
      const res = await api('GET', `/api/routes${path}`);
      if (res.status !== 200) throw new Error(`reading ${path} gave ${res.status}`);
      return Date.parse((res.json() as { last_activity: string }).last_activity);
    },
    close: () => proxy.close(),
  };
}

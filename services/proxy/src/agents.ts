/**
 * Upstream connections, kept alive and reused, per target origin: an undici pool for proxied HTTP requests
 * (forward-http.ts), and a Node agent for WebSocket upgrades (http-proxy-3) and the error target. Node's global
 * agents are never touched (CHP replaces them, which changes every other HTTP client in the process).
 */
import http from 'node:http';
import https from 'node:https';
import { Pool } from 'undici';

/**
 * Idle upstream sockets are closed after this long: below Node's default server keep-alive timeout (5 s), so the
 * proxy does not reuse a socket the upstream is about to close.
 */
export const UPSTREAM_IDLE_MS = 4_000;

/** TLS toward https targets: the CA to verify them with, and a client certificate for mutual TLS. */
export interface AgentTls {
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

export class AgentPool {
  readonly #agents = new Map<string, http.Agent>();
  readonly #pools = new Map<string, Pool>();
  readonly #tls: AgentTls;
  readonly #connectTimeoutMs: number;

  constructor(tls: AgentTls = {}, connectTimeoutMs = 10_000) {
    this.#tls = tls;
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  /**
   * The HTTP connection pool for `target`'s origin, created on first use: as many connections as requests in
   * flight, one request at a time on each (no pipelining), idle ones closed after UPSTREAM_IDLE_MS. No timeout
   * on the answer itself, as CHP (a notebook may take long to answer); the connect timeout is the proxy's.
   */
  dispatcherFor(target: URL): Pool {
    let pool = this.#pools.get(target.origin);
    if (pool === undefined) {
      pool = new Pool(target.origin, {
        pipelining: 1,
        keepAliveTimeout: UPSTREAM_IDLE_MS,
        headersTimeout: 0,
        bodyTimeout: 0,
        connect: {
          timeout: this.#connectTimeoutMs,
          ...(target.protocol === 'https:' ? definedOnly(this.#tls) : {}),
        },
      });
      this.#pools.set(target.origin, pool);
    }
    return pool;
  }

  /** The agent for `target`'s origin, created on first use. */
  forTarget(target: URL): http.Agent {
    let agent = this.#agents.get(target.origin);
    if (agent === undefined) {
      const options = { keepAlive: true, timeout: UPSTREAM_IDLE_MS, scheduling: 'lifo' as const };
      agent =
        target.protocol === 'https:'
          ? new https.Agent({ ...options, ...definedOnly(this.#tls) })
          : new http.Agent(options);
      this.#agents.set(target.origin, agent);
    }
    return agent;
  }

  /**
   * Forget the agent and the pool of an origin no route uses any more. Neither is cut: requests in flight finish;
   * the agent's idle sockets close on their own after UPSTREAM_IDLE_MS, the pool's once its requests are done.
   */
  release(origin: string): void {
    this.#agents.delete(origin);
    const pool = this.#pools.get(origin);
    this.#pools.delete(origin);
    // close() lets requests in flight finish, then closes the connections.
    pool?.close().catch(() => undefined);
  }

  /** Origins with an agent or a pool. */
  get size(): number {
    return new Set([...this.#agents.keys(), ...this.#pools.keys()]).size;
  }

  destroy(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
    for (const pool of this.#pools.values()) pool.destroy().catch(() => undefined);
    this.#pools.clear();
  }
}

function definedOnly(tls: AgentTls): { ca?: string; cert?: string; key?: string } {
  const out: { ca?: string; cert?: string; key?: string } = {};
  if (tls.ca !== undefined) out.ca = tls.ca;
  if (tls.cert !== undefined) out.cert = tls.cert;
  if (tls.key !== undefined) out.key = tls.key;
  return out;
}

/** The TLS toward targets that a configuration asks for. */
export function agentTls(config: {
  readonly targetTls?: { ca?: string; cert?: string; key?: { reveal(): string } } | undefined;
}): AgentTls {
  return { ca: config.targetTls?.ca, cert: config.targetTls?.cert, key: config.targetTls?.key?.reveal() };
}

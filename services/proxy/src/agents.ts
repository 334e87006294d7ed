/**
 * Keep-alive agents, one per target origin, so upstream connections are reused. Node's global agents are never
 * touched (CHP replaces them, which changes every other HTTP client in the process).
 */
import http from 'node:http';
import https from 'node:https';

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
  readonly #tls: AgentTls;

  constructor(tls: AgentTls = {}) {
    this.#tls = tls;
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
   * Forget the agent of an origin no route uses any more. It is not destroyed: requests in flight finish, and its
   * idle sockets close on their own after UPSTREAM_IDLE_MS.
   */
  release(origin: string): void {
    this.#agents.delete(origin);
  }

  get size(): number {
    return this.#agents.size;
  }

  destroy(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
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

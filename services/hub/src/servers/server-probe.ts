/**
 * Asks a running server about itself: jupyter_server's `GET /api/status` (`last_activity`, `connections`,
 * `kernels`) and `GET /api/kernels` (`execution_state` of each kernel). The hub authenticates with a short-lived
 * token scoped to that one server (`access:servers!server=<user>/<name>`), which jupyterhub-singleuser accepts
 * like its owner's. `/api/status` does not count as activity; `/api/kernels` is asked with `no_track_activity`,
 * so checking a server never keeps it alive.
 */
import { hashToken, newSecret } from '../sessions/tokens.ts';
import type { ServerActivity } from './idle-policy.ts';
import { accessScope, serverPrefix } from './naming.ts';

export interface ProbeTarget {
  readonly serverId: number;
  readonly userId: number;
  readonly userName: string;
  readonly serverName: string;
  /** Where the hub reaches the server, e.g. http://berth-alice:8888 (no path). */
  readonly url: string;
}

/** The contract the culler uses; tests replace it with named fakes. */
export interface ServerProbe {
  /** Never throws: a server that cannot be asked is `{ ok: false }`. */
  probe(target: ProbeTarget): Promise<ServerActivity>;
}

/** The subset of TokensRepo the probe needs. */
export interface ProbeTokenStore {
  insert(t: {
    userId: number;
    hash: string;
    prefix: string;
    kind: 'server';
    scopes: readonly string[];
    note: string;
    serverId: number;
    expiresAt: Date;
  }): Promise<{ id: number }>;
  delete(id: number): Promise<void>;
}

interface Minted {
  readonly id: number;
  readonly token: string;
  readonly expires: number;
}

const TOKEN_TTL_MS = 3600_000;
/** A token with less than this left is replaced (the server caches a token's identity for 5 minutes). */
const RENEW_BEFORE_MS = 600_000;

export class HttpServerProbe implements ServerProbe {
  readonly #tokens: ProbeTokenStore;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #minted = new Map<number, Minted>();

  constructor(o: {
    tokens: ProbeTokenStore;
    timeoutMs: number;
    /** How the hub reaches servers; internal TLS swaps this for a fetch with its client certificate. */
    fetch?: typeof fetch;
    now?: () => number;
  }) {
    this.#tokens = o.tokens;
    this.#timeoutMs = o.timeoutMs;
    this.#fetch = o.fetch ?? fetch;
    this.#now = o.now ?? Date.now;
  }

  async probe(t: ProbeTarget): Promise<ServerActivity> {
    try {
      const token = await this.#token(t);
      const base = `${t.url}${serverPrefix(t.userName, t.serverName)}api`;
      const [status, kernels] = await Promise.all([
        this.#get(`${base}/status`, token),
        this.#get(`${base}/kernels?no_track_activity=1`, token),
      ]);
      return parseActivity(status, kernels);
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Forget a server's token (it is deleted with the server's other tokens when the server stops). */
  forget(serverId: number): void {
    this.#minted.delete(serverId);
  }

  async #token(t: ProbeTarget): Promise<string> {
    const now = this.#now();
    const have = this.#minted.get(t.serverId);
    if (have && have.expires - now > RENEW_BEFORE_MS) return have.token;
    const token = newSecret();
    const row = await this.#tokens.insert({
      userId: t.userId,
      hash: hashToken(token),
      prefix: token.slice(0, 4),
      kind: 'server',
      scopes: [accessScope(t.userName, t.serverName)],
      note: `Idle check of ${serverPrefix(t.userName, t.serverName)}`,
      serverId: t.serverId,
      expiresAt: new Date(now + TOKEN_TTL_MS),
    });
    this.#minted.set(t.serverId, { id: row.id, token, expires: now + TOKEN_TTL_MS });
    if (have) await this.#tokens.delete(have.id).catch(() => undefined);
    return token;
  }

  async #get(url: string, token: string): Promise<unknown> {
    const res = await this.#fetch(url, {
      headers: { authorization: `token ${token}`, accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`${new URL(url).pathname} answered ${res.status}`);
    }
    return res.json();
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function date(v: unknown): Date | undefined {
  if (typeof v !== 'string') return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/** jupyter_server's shapes; anything else is a failed probe, never "idle". */
export function parseActivity(status: unknown, kernels: unknown): ServerActivity {
  if (!isObject(status) || !('last_activity' in status)) {
    return { ok: false, error: '/api/status: unexpected answer' };
  }
  if (!Array.isArray(kernels)) return { ok: false, error: '/api/kernels: unexpected answer' };
  const busy = kernels.filter((k) => isObject(k) && k.execution_state === 'busy').length;
  const kernelTimes = kernels
    .map((k) => (isObject(k) ? date(k.last_activity) : undefined))
    .filter((d): d is Date => d !== undefined);
  const times = [date(status.last_activity), ...kernelTimes].filter((d): d is Date => d !== undefined);
  return {
    ok: true,
    lastActivity: times.length ? new Date(Math.max(...times.map((d) => d.getTime()))) : undefined,
    connections: count(status.connections),
    kernels: Math.max(count(status.kernels), kernels.length),
    busyKernels: busy,
  };
}

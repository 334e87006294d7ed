/**
 * The idle-culling decision for one server, as a pure function: what the server says about itself (its own
 * `/api/status` and `/api/kernels`) and what the hub knows (activity reports) in, keep / warn / cull out.
 */

export interface CullPolicy {
  /** Idle this long → culled. 0: never culled for idleness. */
  readonly idleTimeoutMs: number;
  /** Running this long → culled, busy or not. 0: no limit. */
  readonly maxAgeMs: number;
  /** How long before culling the user is warned. */
  readonly warningMs: number;
  /** Cull idle servers even while a client holds a kernel connection open. */
  readonly cullConnected: boolean;
}

/** What the server's own API said, or why it could not be asked. */
export type ServerActivity =
  | {
      readonly ok: true;
      /** `last_activity` of `/api/status` (kernel messages, terminals, API requests). */
      readonly lastActivity: Date | undefined;
      /** Open kernel connections (`/api/status` `connections`). */
      readonly connections: number;
      readonly kernels: number;
      /** Kernels whose `execution_state` is `busy` (`/api/kernels`): a computation is running. */
      readonly busyKernels: number;
    }
  | { readonly ok: false; readonly error: string };

export interface ServerFacts {
  readonly started: Date;
  /** The last activity the server reported to the hub (`POST /hub/api/users/:name/activity`), if any. */
  readonly hubActivity: Date | null;
  readonly activity: ServerActivity;
}

export type CullReason = 'idle' | 'max-age';

export type CullDecision =
  | {
      readonly action: 'keep';
      readonly why: 'active' | 'busy' | 'connected' | 'unknown' | 'off';
    }
  | { readonly action: 'warn'; readonly reason: CullReason; readonly cullAt: Date; readonly idleSince?: Date }
  | { readonly action: 'cull'; readonly reason: CullReason; readonly detail: string };

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

/**
 * Decide about one server. A busy kernel, or (unless `cullConnected`) an open connection, counts as activity
 * now. A server that cannot be asked is never culled for idleness: "unknown" is not "idle" (a long computation
 * can make a server slow to answer). The max age applies regardless: it is a limit, not a guess.
 */
export function decideCull(f: ServerFacts, p: CullPolicy, now: Date): CullDecision {
  const t = now.getTime();
  let warn: (CullDecision & { action: 'warn' }) | undefined;
  if (p.maxAgeMs > 0) {
    const age = t - f.started.getTime();
    if (age >= p.maxAgeMs) {
      return { action: 'cull', reason: 'max-age', detail: `it ran for ${minutes(age)}, the maximum age` };
    }
    if (age >= p.maxAgeMs - p.warningMs) {
      warn = { action: 'warn', reason: 'max-age', cullAt: new Date(f.started.getTime() + p.maxAgeMs) };
    }
  }
  const idle = idleVerdict(f, p, t);
  if (idle.action === 'cull') return idle;
  if (idle.action === 'warn' && (!warn || idle.cullAt < warn.cullAt)) return idle;
  return warn ?? idle;
}

function idleVerdict(f: ServerFacts, p: CullPolicy, t: number): CullDecision {
  if (p.idleTimeoutMs === 0) return { action: 'keep', why: 'off' };
  const a = f.activity;
  if (!a.ok) return { action: 'keep', why: 'unknown' };
  if (a.busyKernels > 0) return { action: 'keep', why: 'busy' };
  if (a.connections > 0 && !p.cullConnected) return { action: 'keep', why: 'connected' };
  const last = Math.max(f.started.getTime(), f.hubActivity?.getTime() ?? 0, a.lastActivity?.getTime() ?? 0);
  const idleFor = t - last;
  if (idleFor >= p.idleTimeoutMs) {
    return { action: 'cull', reason: 'idle', detail: `it was idle for ${minutes(idleFor)}` };
  }
  if (idleFor >= p.idleTimeoutMs - p.warningMs) {
    return {
      action: 'warn',
      reason: 'idle',
      cullAt: new Date(last + p.idleTimeoutMs),
      idleSince: new Date(last),
    };
  }
  return { action: 'keep', why: 'active' };
}

/**
 * Idle culling, built into the hub: every `intervalMs`, each running server is checked against the policy
 * (idle-policy.ts). Servers about to be culled carry a warning (shown in the REST API and on the home page);
 * culled ones leave a notice saying why. Culling is an ordinary stop: the home volume stays.
 */
import type { Logger } from 'pino';
import type { ServerRow, UserRow } from '../db/schema.ts';
import { type CullPolicy, type CullReason, decideCull, type ServerActivity } from './idle-policy.ts';
import type { ServerProbe } from './server-probe.ts';

export interface CullCandidate {
  readonly user: Pick<UserRow, 'id' | 'name' | 'admin'>;
  readonly server: Pick<ServerRow, 'id' | 'name' | 'state' | 'url' | 'started' | 'last_activity'>;
}

export interface CullerConfig extends CullPolicy {
  readonly intervalMs: number;
  /** Cull admins' servers too. */
  readonly cullAdmins: boolean;
  /** Users whose servers are never culled. */
  readonly exemptUsers: readonly string[];
}

/** A server that will be culled unless it is used: shown to its owner. */
export interface CullWarning {
  readonly reason: CullReason;
  readonly cullAt: Date;
  readonly idleSince?: Date;
}

/** Why a server was culled: shown to its owner until the server runs again. */
export interface CullNotice {
  readonly reason: CullReason;
  readonly at: Date;
  readonly message: string;
}

export interface CullReport {
  readonly checked: number;
  readonly culled: number;
  readonly warned: number;
  /** Kept because a kernel was busy. */
  readonly busy: number;
  /** Kept because the server could not be asked. */
  readonly unknown: number;
  readonly exempt: number;
}

/** An all-idle answer: what the hub's own records say before the server is asked (it can only add activity). */
const NOTHING_MORE: ServerActivity = {
  ok: true,
  lastActivity: undefined,
  connections: 0,
  kernels: 0,
  busyKernels: 0,
};
const NOTICE_TTL_MS = 24 * 3600_000;

const keyOf = (user: string, server: string) => `${user}\0${server}`;

export class IdleCuller {
  readonly #candidates: () => Promise<CullCandidate[]>;
  readonly #probe: ServerProbe;
  readonly #stop: (user: CullCandidate['user'], serverName: string) => Promise<void>;
  readonly #cfg: CullerConfig;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #warnings = new Map<string, CullWarning>();
  readonly #notices = new Map<string, CullNotice>();
  #running: Promise<CullReport> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: {
    candidates: () => Promise<CullCandidate[]>;
    probe: ServerProbe;
    stop: (user: CullCandidate['user'], serverName: string) => Promise<void>;
    config: CullerConfig;
    log: Logger;
    now?: () => Date;
  }) {
    this.#candidates = deps.candidates;
    this.#probe = deps.probe;
    this.#stop = deps.stop;
    this.#cfg = deps.config;
    this.#log = deps.log;
    this.#now = deps.now ?? (() => new Date());
  }

  get enabled(): boolean {
    return this.#cfg.idleTimeoutMs > 0 || this.#cfg.maxAgeMs > 0;
  }

  /** Check every running server once. Overlapping calls share one check. */
  check(): Promise<CullReport> {
    this.#running ??= this.#check().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Check on a timer (unref'd, so it never keeps the process alive). No-op when culling is off. */
  start(): void {
    if (!this.enabled || this.#timer) return;
    this.#timer = setInterval(() => {
      this.check().catch((err) => this.#log.warn({ err: String(err) }, 'idle check failed'));
    }, this.#cfg.intervalMs);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  warning(userName: string, serverName: string): CullWarning | undefined {
    return this.#warnings.get(keyOf(userName, serverName));
  }

  notice(userName: string, serverName: string): CullNotice | undefined {
    const n = this.#notices.get(keyOf(userName, serverName));
    if (n && this.#now().getTime() - n.at.getTime() > NOTICE_TTL_MS) return undefined;
    return n;
  }

  #exempt(user: CullCandidate['user']): boolean {
    return (user.admin && !this.#cfg.cullAdmins) || this.#cfg.exemptUsers.includes(user.name);
  }

  async #check(): Promise<CullReport> {
    const r = { checked: 0, culled: 0, warned: 0, busy: 0, unknown: 0, exempt: 0 };
    if (!this.enabled) return r;
    const seen = new Set<string>();
    for (const c of await this.#candidates()) {
      const key = keyOf(c.user.name, c.server.name);
      seen.add(key);
      if (c.server.state !== 'running' || !c.server.url) continue;
      // Running again (started by its owner): the old notice no longer applies.
      this.#notices.delete(key);
      if (this.#exempt(c.user)) {
        r.exempt++;
        this.#warnings.delete(key);
        continue;
      }
      r.checked++;
      try {
        const outcome = await this.#checkOne(c);
        if (outcome === 'culled') r.culled++;
        else if (outcome === 'warned') r.warned++;
        else if (outcome === 'busy') r.busy++;
        else if (outcome === 'unknown') r.unknown++;
      } catch (err) {
        this.#log.warn({ user: c.user.name, server: c.server.name, err: String(err) }, 'idle check failed');
      }
    }
    for (const key of this.#warnings.keys()) if (!seen.has(key)) this.#warnings.delete(key);
    if (r.culled || r.warned || r.unknown) this.#log.info(r, 'idle check');
    return r;
  }

  async #checkOne(c: CullCandidate): Promise<'culled' | 'warned' | 'busy' | 'unknown' | 'kept'> {
    const key = keyOf(c.user.name, c.server.name);
    const now = this.#now();
    const facts = {
      started: new Date(c.server.started),
      hubActivity: c.server.last_activity ? new Date(c.server.last_activity) : null,
    };
    // The hub's records alone say "active": asking the server could only add activity, so skip it.
    let decision = decideCull({ ...facts, activity: NOTHING_MORE }, this.#cfg, now);
    if (decision.action !== 'keep' && !(decision.action === 'cull' && decision.reason === 'max-age')) {
      const activity = await this.#probe.probe({
        serverId: c.server.id,
        userId: c.user.id,
        userName: c.user.name,
        serverName: c.server.name,
        url: c.server.url as string,
      });
      if (!activity.ok) {
        this.#log.warn(
          { user: c.user.name, server: c.server.name, err: activity.error },
          'idle check: the server could not be asked; not culled',
        );
      }
      decision = decideCull({ ...facts, activity }, this.#cfg, now);
    }
    switch (decision.action) {
      case 'keep':
        this.#warnings.delete(key);
        return decision.why === 'busy' ? 'busy' : decision.why === 'unknown' ? 'unknown' : 'kept';
      case 'warn': {
        const first = !this.#warnings.has(key);
        this.#warnings.set(key, {
          reason: decision.reason,
          cullAt: decision.cullAt,
          ...(decision.idleSince ? { idleSince: decision.idleSince } : {}),
        });
        if (first) {
          this.#log.info(
            { user: c.user.name, server: c.server.name, reason: decision.reason, cullAt: decision.cullAt },
            'server will be culled unless used',
          );
        }
        return 'warned';
      }
      case 'cull': {
        this.#log.info(
          { user: c.user.name, server: c.server.name, reason: decision.reason, detail: decision.detail },
          'culling server',
        );
        await this.#stop(c.user, c.server.name);
        this.#warnings.delete(key);
        this.#notices.set(key, {
          reason: decision.reason,
          at: now,
          message: `Your server was stopped at ${now.toISOString()}: ${decision.detail}. Your files are kept.`,
        });
        return 'culled';
      }
    }
  }
}

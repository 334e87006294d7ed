import type { Logger } from 'pino';
import type { AccessRepo } from '../db/access-repo.ts';
import type { GroupsRepo } from '../db/groups-repo.ts';
import type { UserRow } from '../db/schema.ts';
import { type AccessSets, isAllowed, isBlocked, nextAdmin, type Subject } from './access-policy.ts';
import type { Authenticator, AuthFailure, AuthInput, AuthOutcome } from './authenticator.ts';
import { acceptablePassword, loggable, normalizeUsername } from './normalize.ts';
import type { StateSealer } from './state-crypto.ts';

export type LoginResult =
  | { readonly ok: true; readonly user: UserRow; readonly authenticator: string }
  | { readonly ok: false; readonly reason: AuthFailure };

export interface LoginPipelineDeps {
  /** Enabled authenticators, in configuration order. */
  readonly authenticators: readonly Authenticator[];
  readonly sets: AccessSets;
  readonly repo: AccessRepo;
  readonly log: Logger;
  /** Encrypts auth state at rest; without it, auth state is not stored. */
  readonly sealer?: StateSealer | undefined;
  /** Given (BERTH_MANAGE_GROUPS=1): hub group membership follows the groups an authenticator returns. */
  readonly groups?: Pick<GroupsRepo, 'syncUserGroups'>;
}

/**
 * The closed login pipeline: normalize → authenticate → blocked → allowed → admin → post-login. Authenticators
 * implement only `authenticate`; every rule about who enters and who is admin lives here and in access-policy.
 */
export class LoginPipeline {
  readonly #d: LoginPipelineDeps;

  constructor(deps: LoginPipelineDeps) {
    this.#d = deps;
  }

  get authenticators(): readonly Authenticator[] {
    return this.#d.authenticators;
  }

  /** A user's stored auth state, decrypted; undefined when absent or sealed with a key that is gone. */
  openState(sealed: string | null | undefined): Record<string, unknown> | undefined {
    return sealed && this.#d.sealer ? this.#d.sealer.open(sealed) : undefined;
  }

  /** The shared login form: each password authenticator in order until one accepts. */
  async loginWithPassword(rawUsername: unknown, password: unknown): Promise<LoginResult> {
    const username = normalizeUsername(rawUsername);
    if (!username || !acceptablePassword(password)) {
      this.#d.log.info(
        { event: 'login.failed', user: loggable(rawUsername), reason: 'malformed' },
        'login failed',
      );
      return { ok: false, reason: 'invalid' };
    }
    let unavailable = false;
    for (const a of this.#d.authenticators) {
      if (a.accepts !== 'password') continue;
      const outcome = await this.#authenticate(a, () =>
        a.authenticate({ kind: 'password', username, password }),
      );
      if (outcome.ok) return this.admit(a.kind, outcome);
      if (outcome.reason === 'unavailable') unavailable = true;
    }
    this.#d.log.info(
      { event: 'login.failed', user: username, reason: unavailable ? 'unavailable' : 'invalid' },
      'login failed',
    );
    return { ok: false, reason: unavailable ? 'unavailable' : 'invalid' };
  }

  /** A redirect-based authenticator's callback (OIDC): authenticate, then the same checks as the form. */
  async loginWithCallback(a: Authenticator, input: AuthInput): Promise<LoginResult> {
    const outcome = await this.#authenticate(a, () => a.authenticate(input));
    if (!outcome.ok) {
      this.#d.log.info(
        { event: 'login.failed', authenticator: a.kind, reason: outcome.reason, detail: outcome.detail },
        'login failed',
      );
      return { ok: false, reason: outcome.reason };
    }
    return this.admit(a.kind, outcome);
  }

  /**
   * Before a spawn: re-check a user whose authenticator can refresh (OIDC) once their access token has
   * expired. The fresh answer goes through blocked → allowed → admin again; a refusal means "log in again".
   */
  async recheck(user: UserRow, now = Date.now()): Promise<LoginResult> {
    const a = this.#d.authenticators.find((x) => x.kind === user.authenticator);
    const state = this.openState(user.auth_state);
    const refresh = a?.refresh?.bind(a);
    if (!a || !refresh || !state) return { ok: true, user, authenticator: user.authenticator ?? 'local' };
    const expires = typeof state.access_expires_at === 'number' ? state.access_expires_at : 0;
    if (expires > now) return { ok: true, user, authenticator: a.kind };
    const outcome = await this.#authenticate(a, () => refresh(state));
    if (!outcome.ok || normalizeUsername(outcome.username) !== user.name) {
      const reason = outcome.ok ? 'invalid' : outcome.reason;
      this.#d.log.info({ event: 'recheck.failed', user: user.name, reason }, 'recheck failed');
      return { ok: false, reason };
    }
    return this.admit(a.kind, outcome);
  }

  /** Run one authenticator; a throw is "unavailable", logged without the input. */
  async #authenticate(a: Authenticator, run: () => Promise<AuthOutcome>): Promise<AuthOutcome> {
    try {
      const outcome = await run();
      if (!outcome.ok && outcome.reason === 'unavailable') {
        this.#d.log.warn(
          { event: 'auth.unavailable', authenticator: a.kind, detail: outcome.detail },
          'unavailable',
        );
      }
      return outcome;
    } catch (err) {
      const e = err as Error & { code?: unknown };
      this.#d.log.error(
        { event: 'auth.error', authenticator: a.kind, error: e?.name, code: e?.code },
        'authenticator failed',
      );
      return { ok: false, reason: 'unavailable' };
    }
  }

  /** blocked → allowed → admin → post-login, for an outcome an authenticator accepted. */
  async admit(kind: string, outcome: AuthOutcome): Promise<LoginResult> {
    if (!outcome.ok) return { ok: false, reason: outcome.reason };
    const { sets, repo, log } = this.#d;
    const name = normalizeUsername(outcome.username);
    if (!name) {
      log.warn({ event: 'login.failed', authenticator: kind, reason: 'bad-username' }, 'unusable username');
      return { ok: false, reason: 'invalid' };
    }
    const existing = await repo.byName(name);
    const local = kind === 'local';
    const groups = outcome.groups ? [...new Set(outcome.groups)].sort() : (existing?.groups ?? []);
    const subject: Subject = { name, groups, local };
    // Blocked by the configuration, or by an admin (users.blocked).
    if (isBlocked(sets, subject) || existing?.blocked === true) {
      log.info({ event: 'login.refused', user: name, authenticator: kind, reason: 'blocked' }, 'blocked');
      return { ok: false, reason: 'blocked' };
    }
    if (!isAllowed(sets, subject)) {
      log.info(
        { event: 'login.refused', user: name, authenticator: kind, reason: 'not_allowed' },
        'not allowed',
      );
      return { ok: false, reason: 'not_allowed' };
    }
    const current = { admin: existing?.admin ?? false, byConfig: existing?.admin_by_config ?? false };
    const next = nextAdmin(current, sets, subject);
    const admin = next.admin || outcome.admin === true;
    const sealed = outcome.authState && this.#d.sealer ? this.#d.sealer.seal(outcome.authState) : undefined;
    const user = await repo.recordLogin(name, {
      admin,
      adminByConfig: next.byConfig,
      groups,
      authenticator: kind,
      ...(sealed !== undefined ? { authState: sealed } : {}),
    });
    if (existing && existing.admin !== admin) {
      log.info(
        { event: admin ? 'admin.granted' : 'admin.revoked', user: name, via: 'login' },
        'admin changed',
      );
    }
    if (this.#d.groups && outcome.groups) {
      const { skipped } = await this.#d.groups.syncUserGroups(user.id, groups);
      if (skipped.length) {
        log.warn(
          { event: 'groups.skipped', user: name, skipped: skipped.slice(0, 10) },
          'unusable group names',
        );
      }
    }
    log.info({ event: 'login', user: name, authenticator: kind, admin }, 'login');
    return { ok: true, user, authenticator: kind };
  }
}

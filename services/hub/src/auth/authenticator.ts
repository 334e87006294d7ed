import type { CallbackInput } from './oidc/oidc-authenticator.ts';

/**
 * The Authenticator contract. An authenticator only answers "who is this, and in which groups?"; the closed
 * login pipeline (login-pipeline.ts) owns every rule about who may enter and who is an admin.
 */

/** What a login form sends. Every password authenticator (local, LDAP) reads the same form. */
export interface PasswordInput {
  readonly kind: 'password';
  /** Already normalized and length-capped by the pipeline. */
  readonly username: string;
  readonly password: string;
}

export type AuthInput = PasswordInput | CallbackInput;

/** Why a login was refused. Only `unavailable` is shown differently to the user (a 503 page). */
export type AuthFailure =
  /** Wrong credentials, unknown user, or input that cannot be valid. */
  | 'invalid'
  /** The identity backend could not be reached or answered with an error. */
  | 'unavailable'
  /** In `blocked_users`. */
  | 'blocked'
  /** Not in `allowed_users` or `allowed_groups`. */
  | 'not_allowed';

export type AuthOutcome =
  | {
      readonly ok: true;
      readonly username: string;
      /** Group names from the identity source; undefined means "this source has no groups". */
      readonly groups?: readonly string[];
      /** The source says this user is an admin (besides `admin_users`/`admin_groups`). */
      readonly admin?: boolean;
      /** Kept for the user (encrypted at rest when it holds secrets); never logged. */
      readonly authState?: Readonly<Record<string, unknown>>;
    }
  | { readonly ok: false; readonly reason: AuthFailure; readonly detail?: string };

export interface Authenticator {
  /** `local`, `ldap`, `oidc:<id>`: shown in logs and stored with the user. */
  readonly kind: string;
  /** Which input it takes: the shared login form (`password`) or an IdP's redirect back (`callback`). */
  readonly accepts: AuthInput['kind'];
  authenticate(input: AuthInput): Promise<AuthOutcome>;
  /**
   * Re-check a user from their stored auth state (e.g. an OIDC refresh token), without the user present.
   * Optional: authenticators without it are never re-checked between logins.
   */
  refresh?(authState: Readonly<Record<string, unknown>>): Promise<AuthOutcome>;
  close?(): Promise<void>;
}

export const refused = (reason: AuthFailure, detail?: string): AuthOutcome =>
  detail === undefined ? { ok: false, reason } : { ok: false, reason, detail };

import { USERNAME_RE } from '../config/schema.ts';

/** Longest raw username accepted from a form; anything longer is refused before it reaches LDAP or a log. */
export const MAX_RAW_USERNAME = 256;
/** Longest password accepted (local hashing and LDAP binds alike). */
export const MAX_PASSWORD = 1024;

/**
 * A username as typed → the hub's name for it: NFKC, trimmed, lowercase. Undefined when it can never be a
 * valid name (too long, or characters outside USERNAME_RE), so such input never reaches an authenticator.
 */
export function normalizeUsername(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length > MAX_RAW_USERNAME) return undefined;
  const name = raw.normalize('NFKC').trim().toLowerCase();
  return USERNAME_RE.test(name) ? name : undefined;
}

/** For logs: a bounded, printable rendering of what someone typed. */
export function loggable(raw: unknown): string {
  if (typeof raw !== 'string') return '';
  return JSON.stringify(raw.slice(0, 64)).slice(1, -1);
}

/** Passwords that must never reach a bind: empty, whitespace only, over-long, or holding NUL. */
export function acceptablePassword(password: unknown): password is string {
  return (
    typeof password === 'string' &&
    password.trim() !== '' &&
    password.length <= MAX_PASSWORD &&
    !password.includes('\0')
  );
}

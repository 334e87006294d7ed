import { USERNAME_RE } from '../config/schema.ts';
import { HubError } from '../errors.ts';

/** Validate a user name from a URL or body; a clear 400 instead of a lookup of garbage. */
export function checkUserName(name: unknown): string {
  if (typeof name !== 'string' || !USERNAME_RE.test(name)) {
    throw new HubError(
      'INVALID_NAME',
      'invalid user name: use 1-64 lowercase letters, digits, ".", "_", "@" or "-", starting with a letter or digit',
    );
  }
  return name;
}

export const SERVER_NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

export function checkServerName(name: unknown): string {
  if (typeof name !== 'string' || !SERVER_NAME_RE.test(name)) {
    throw new HubError(
      'INVALID_NAME',
      'invalid server name: use 1-63 lowercase letters, digits, ".", "_" or "-"',
    );
  }
  return name;
}

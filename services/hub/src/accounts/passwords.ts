import { MAX_PASSWORD_LENGTH } from '../auth/password.ts';

export const MIN_PASSWORD_LENGTH = 8;

/** Why a new password is refused, or undefined when it is acceptable. */
export function newPasswordProblem(password: unknown, confirm: unknown): string | undefined {
  if (typeof password !== 'string' || typeof confirm !== 'string') return 'Enter the new password twice.';
  if (password !== confirm) return 'The two new passwords differ.';
  if (password.trim().length < MIN_PASSWORD_LENGTH) {
    return `A password needs at least ${MIN_PASSWORD_LENGTH} characters.`;
  }
  if (password.length > MAX_PASSWORD_LENGTH) return 'That password is too long.';
  return undefined;
}

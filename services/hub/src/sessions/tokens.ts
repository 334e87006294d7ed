import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new high-entropy secret: 32 random bytes as 64 hex characters (JupyterHub-style tokens). */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * Tokens are stored only as sha256. They carry 256 bits of entropy, so a fast hash is enough: what matters is
 * that a database dump holds nothing usable.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time comparison of two secrets of any length (compares their hashes). */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** Parse `Authorization: token <t>` or `Bearer <t>`. Anything else is no token. */
export function tokenFromAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(token|bearer) ([A-Za-z0-9_.~+/=-]{16,256})$/i.exec(header.trim());
  return m?.[2];
}

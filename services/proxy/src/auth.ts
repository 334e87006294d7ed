/**
 * The REST API's token check. The token comes only from the Authorization header (`token <t>` or `Bearer <t>`,
 * scheme case-insensitive, exactly one space); query strings are never read. Both sides are hashed with SHA-256
 * and compared with `timingSafeEqual`, so neither the comparison's time nor its length reveals the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Secret } from './secret.ts';

export type TokenCheck = (authorization: string | undefined) => boolean;

const AUTHORIZATION = /^(?:token|bearer) ([\x21-\x7e]+)$/i;

/** The credential in an Authorization header value, or undefined if the header is absent or malformed. */
export function credentialFrom(authorization: string | undefined): string | undefined {
  return authorization === undefined ? undefined : AUTHORIZATION.exec(authorization)?.[1];
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export function createTokenCheck(token: Secret): TokenCheck {
  const expected = sha256(token.reveal());
  return (authorization) => {
    const presented = credentialFrom(authorization);
    // Hash and compare even when malformed, so every refusal costs the same.
    const matches = timingSafeEqual(sha256(presented ?? ''), expected);
    return presented !== undefined && matches;
  };
}

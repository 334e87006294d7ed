import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export class SecretFileError extends Error {
  override readonly name = 'SecretFileError';
}

/** Write a new random secret (hex) to `path` with mode 0600 unless it exists. Returns true when created. */
export function ensureSecretFile(path: string, bytes = 32, uid?: number, gid?: number): boolean {
  try {
    statSync(path);
    return false;
  } catch {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, `${randomBytes(bytes).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
    // chown only when asked: the init step runs as root and hands each file to its service's user.
    if (uid !== undefined && gid !== undefined) chownSync(path, uid, gid);
    return true;
  }
}

/**
 * Read a secret file, refusing one that group or others can read: a leaked cookie secret lets anyone forge
 * any session.
 */
export function readSecretFile(path: string, enforceMode: boolean): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    throw new SecretFileError(`secret file ${path} is missing (${(err as NodeJS.ErrnoException).code})`);
  }
  if (enforceMode && (mode & 0o077) !== 0) {
    throw new SecretFileError(
      `secret file ${path} has mode ${(mode & 0o777).toString(8)}; it must not be readable by group or others (chmod 600)`,
    );
  }
  const value = readFileSync(path, 'utf8').trim();
  if (value.length < 32) throw new SecretFileError(`secret file ${path} is too short (need 32+ characters)`);
  return value;
}

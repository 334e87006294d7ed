import { readFileSync, statSync } from 'node:fs';
import { type Finding, fail, pass, warn } from './report.ts';

/** A secret file: present, readable by its owner only (no group or other bits), optionally of a shape. */
export function secretFile(id: string, path: string | undefined, what: string, shape?: RegExp): Finding {
  if (!path) return warn(id, `${what} is not read from a file (set its *_FILE variable)`);
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch (e) {
    return fail(id, `${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  const octal = mode.toString(8).padStart(4, '0');
  if ((mode & 0o077) !== 0) {
    return fail(id, `${what} file ${path} is ${octal}: readable by group or others (chmod 0600 it)`);
  }
  if (shape) {
    let content = '';
    try {
      content = readFileSync(path, 'utf8').trim();
    } catch {
      return fail(id, `${what} file ${path} cannot be read by the hub`);
    }
    if (!shape.test(content))
      return warn(id, `${what} file ${path} is ${octal} but not of the expected form`);
  }
  return pass(id, `${what} file ${path} is ${octal}`);
}

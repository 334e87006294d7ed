/**
 * Reversible escaping of user and server names into names Docker accepts (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`).
 *
 * Lowercase ASCII letters and digits are kept; every other UTF-8 byte (uppercase, `-`, `.`, `_`, anything
 * non-ASCII) becomes `-xx`, its lowercase hex. Every `-` in an escaped name is therefore followed by a hex
 * digit, so an escaped name never contains `--` and never ends with `-`: `--` is a safe separator between
 * an escaped user and an escaped server name, and user `alice-x` (`alice-2dx`) can never collide with
 * user `alice` + server `x` (`alice--x`).
 */

const KEPT = /^[a-z0-9]$/;
const PREFIX = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Escapes any well-formed string. Lone surrogates are refused: UTF-8 cannot represent them injectively. */
export function escapeName(name: string): string {
  if (LONE_SURROGATE.test(name)) throw new TypeError('name is not well-formed Unicode');
  let out = '';
  for (const byte of encoder.encode(name)) {
    const ch = String.fromCharCode(byte);
    out += KEPT.test(ch) ? ch : `-${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** Inverse of {@link escapeName}. Accepts only canonical escapes (what escapeName produces); throws otherwise. */
export function unescapeName(escaped: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length; i++) {
    const ch = escaped.charAt(i);
    if (KEPT.test(ch)) {
      bytes.push(ch.charCodeAt(0));
      continue;
    }
    const hex = escaped.slice(i + 1, i + 3);
    if (ch !== '-' || !/^[0-9a-f]{2}$/.test(hex)) throw new TypeError(`invalid escape at ${i}`);
    const byte = Number.parseInt(hex, 16);
    if (KEPT.test(String.fromCharCode(byte))) throw new TypeError(`non-canonical escape at ${i}`);
    bytes.push(byte);
    i += 2;
  }
  try {
    return decoder.decode(new Uint8Array(bytes));
  } catch {
    throw new TypeError('escaped name is not valid UTF-8');
  }
}

/** A deployment's name prefix: lowercase letters and digits, single dashes between groups. */
export function assertValidPrefix(prefix: string): void {
  if (!PREFIX.test(prefix) || prefix.length > 32) {
    throw new TypeError(`invalid name prefix ${JSON.stringify(prefix)}: use [a-z0-9] groups joined by '-'`);
  }
}

function userPart(user: string, serverName: string): string {
  if (user === '') throw new TypeError('user name must not be empty');
  const u = escapeName(user);
  return serverName === '' ? u : `${u}--${escapeName(serverName)}`;
}

/** `<prefix>-<user>` for the default server, `<prefix>-<user>--<server>` for a named one. */
export function containerName(prefix: string, user: string, serverName: string): string {
  assertValidPrefix(prefix);
  return `${prefix}-${userPart(user, serverName)}`;
}

/** `<prefix>-home-<user>` for the default server, `<prefix>-home-<user>--<server>` for a named one. */
export function volumeName(prefix: string, user: string, serverName: string): string {
  assertValidPrefix(prefix);
  return `${prefix}-home-${userPart(user, serverName)}`;
}

/** `<prefix>-tls-<user>[--<server>]`: the volume holding a server's TLS files (internal TLS). */
export function tlsVolumeName(prefix: string, user: string, serverName: string): string {
  assertValidPrefix(prefix);
  return `${prefix}-tls-${userPart(user, serverName)}`;
}

/**
 * `<prefix>-<user>[--<server>]-net`: a server's own network. Escaping never yields `-n`, so the suffix cannot
 * collide with any container name.
 */
export function networkName(prefix: string, user: string, serverName: string): string {
  return `${containerName(prefix, user, serverName)}-net`;
}

export interface ParsedName {
  readonly user: string;
  readonly serverName: string;
}

function parseUserPart(rest: string): ParsedName | undefined {
  const parts = rest.split('--');
  if (parts.length > 2 || parts[0] === '' || parts[1] === '') return undefined;
  try {
    return { user: unescapeName(parts[0] ?? ''), serverName: parts[1] ? unescapeName(parts[1]) : '' };
  } catch {
    return undefined;
  }
}

/** Inverse of {@link containerName}; undefined when `name` is not one of ours. */
export function parseContainerName(prefix: string, name: string): ParsedName | undefined {
  return name.startsWith(`${prefix}-`) ? parseUserPart(name.slice(prefix.length + 1)) : undefined;
}

/** Inverse of {@link volumeName}; undefined when `name` is not one of ours. */
export function parseVolumeName(prefix: string, name: string): ParsedName | undefined {
  return name.startsWith(`${prefix}-home-`) ? parseUserPart(name.slice(prefix.length + 6)) : undefined;
}

/** IPv4 CIDR arithmetic for the guard's subnet checks and the firewall's rules. */

export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  readonly base: number;
  readonly bits: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const raw = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - bits);
  if (raw % size !== 0) return undefined;
  return { base: raw, bits };
}

/** True when `inner` lies entirely inside `outer`. */
export function cidrWithin(inner: string, outer: string): boolean {
  const i = parseCidr(inner);
  const o = parseCidr(outer);
  if (!i || !o || i.bits < o.bits) return false;
  const size = 2 ** (32 - o.bits);
  return Math.floor(i.base / size) === Math.floor(o.base / size);
}

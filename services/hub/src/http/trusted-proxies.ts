import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';

/**
 * Which peers may tell the hub who the client is (X-Forwarded-For). Entries are IP addresses, CIDR ranges or
 * host names; names are resolved at start and again every `refreshMs` (a container's address can change when it
 * is recreated). A hop is believed only when its own address is trusted, hop by hop from the socket, so a client
 * that is not a configured proxy cannot choose its address by sending the header (fastify's `trustProxy`).
 *
 * The keyword `edge` trusts one more hop, only directly in front of a trusted proxy and only when that hop's
 * address is on no network the hub itself is attached to: in the compose stack, Caddy (on `edge`, where the hub
 * is not) rather than a user container (on networks the hub joins). Caddy replaces any X-Forwarded-For a client
 * sends, so the hop in front of it is the client.
 */
export class TrustedProxies {
  readonly #fixed = new BlockList();
  readonly #names: readonly string[];
  readonly #edge: boolean;
  #own: { at: number; list: BlockList } | undefined;
  #resolved = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  readonly #log: Logger | undefined;

  private constructor(entries: readonly string[], log?: Logger) {
    this.#log = log;
    const names: string[] = [];
    this.#edge = entries.includes('edge');
    for (const e of entries.filter((x) => x !== 'edge')) {
      const [addr = '', bits] = e.split('/');
      const family = isIP(addr);
      if (family && bits !== undefined)
        this.#fixed.addSubnet(addr, Number(bits), family === 6 ? 'ipv6' : 'ipv4');
      else if (family) this.#fixed.addAddress(addr, family === 6 ? 'ipv6' : 'ipv4');
      else names.push(e);
    }
    this.#names = names;
  }

  /** Resolve the names once before serving, then keep them fresh in the background. */
  static async create(entries: readonly string[], log?: Logger, refreshMs = 60_000): Promise<TrustedProxies> {
    const t = new TrustedProxies(entries, log);
    await t.refresh();
    if (t.#names.length > 0) {
      t.#timer = setInterval(() => void t.refresh(), refreshMs);
      t.#timer.unref();
    }
    return t;
  }

  get empty(): boolean {
    return this.#names.length === 0 && this.#fixed.rules.length === 0 && !this.#edge;
  }

  async refresh(): Promise<void> {
    const next = new Set<string>();
    for (const name of this.#names) {
      try {
        for (const a of await lookup(name, { all: true })) next.add(a.address);
      } catch (err) {
        // Keep what we had for this name: a DNS hiccup must not make every client look like the proxy.
        for (const a of this.#resolved) next.add(a);
        this.#log?.warn(
          { event: 'trusted_proxy.unresolved', name, code: (err as NodeJS.ErrnoException).code },
          'cannot resolve a trusted proxy name',
        );
      }
    }
    this.#resolved = next;
  }

  /** For fastify's `trustProxy`: is the hop at `address` (`hop` 0 is the socket's peer) a trusted proxy? */
  readonly trusts = (address: string, hop = 0): boolean => {
    const a = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIP(a);
    if (!family) return false;
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (this.#resolved.has(a) || this.#fixed.check(a, type)) return true;
    // Hops are checked in order and stop at the first untrusted one, so hop 1 here follows a trusted proxy.
    return this.#edge && hop === 1 && !this.#ownNetworks().check(a, type);
  };

  /** The subnets of the hub's own interfaces (re-read every few seconds: per-server networks come and go). */
  #ownNetworks(): BlockList {
    const now = Date.now();
    if (this.#own && now - this.#own.at < 5_000) return this.#own.list;
    const list = new BlockList();
    for (const addrs of Object.values(networkInterfaces())) {
      for (const i of addrs ?? []) {
        const [net = '', bits = ''] = (i.cidr ?? '').split('/');
        if (net && bits) list.addSubnet(net, Number(bits), i.family === 'IPv6' ? 'ipv6' : 'ipv4');
      }
    }
    this.#own = { at: now, list };
    return list;
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}

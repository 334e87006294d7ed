/**
 * The host firewall rules for user servers (docs/security.md#egress), as data first: `firewallRules()` is a pure
 * function of the configuration, `installFirewall()` loads it atomically with `iptables-restore --noflush` into
 * two chains of Berth's own and hooks them in once, and `verifyFirewall()` reads the chains back and compares.
 *
 *   <P>-EGRESS  jumped to from DOCKER-USER (forwarded traffic): from the egress range, DNS to the host's
 *               resolvers passes; every private, loopback, link-local (cloud metadata), shared and reserved
 *               range is dropped, which also drops traffic between servers on the egress bridge; the rest
 *               (the internet) continues to Docker's own rules. From the server-network range, anything
 *               leaving that range is dropped (internal networks already do; this is the second lock).
 *   <P>-INPUT   jumped to from INPUT (traffic to the host itself: the bridge gateways, the host's addresses,
 *               services bound to 0.0.0.0): new connections from either range are dropped.
 *
 * Nothing else on the host changes. `removeFirewall()` deletes the two jumps and the two chains.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseCidr } from './cidr.ts';

const run = promisify(execFile);

/** Destinations a server with outbound internet must never reach (IPv4; the egress network has no IPv6). */
export const BLOCKED_RANGES: readonly string[] = [
  '0.0.0.0/8', // "this" network
  '10.0.0.0/8', // RFC 1918
  '100.64.0.0/10', // carrier-grade NAT (RFC 6598)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local: cloud metadata 169.254.169.254, ECS 169.254.170.2
  '172.16.0.0/12', // RFC 1918 (Docker's default bridges)
  '192.0.0.0/24', // IETF protocol assignments
  '192.168.0.0/16', // RFC 1918
  '198.18.0.0/15', // benchmarking
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, and broadcast
];

export interface FirewallConfig {
  /** Chain name prefix: chains are `<prefix>-EGRESS` and `<prefix>-INPUT`. */
  readonly chainPrefix: string;
  readonly egressSubnetPool: string;
  readonly serverSubnetPool: string;
  /** Resolvers the egress range may send DNS to (the host's, which Docker's embedded DNS forwards to). */
  readonly dnsServers: readonly string[];
  /** Ranges blocked besides {@link BLOCKED_RANGES} (e.g. the host's LAN if it is public address space). */
  readonly extraBlocked: readonly string[];
}

export function chains(c: FirewallConfig): { egress: string; input: string } {
  return { egress: `${c.chainPrefix}-EGRESS`, input: `${c.chainPrefix}-INPUT` };
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Validates the configuration; throws a TypeError naming the bad value. */
export function checkFirewallConfig(c: FirewallConfig): void {
  if (!/^[A-Z][A-Z0-9_]{0,18}$/.test(c.chainPrefix))
    throw new TypeError(`chain prefix ${c.chainPrefix}: A-Z, 0-9, _`);
  for (const r of [c.egressSubnetPool, c.serverSubnetPool, ...c.extraBlocked]) {
    if (!parseCidr(r)) throw new TypeError(`${JSON.stringify(r)} is not an IPv4 network in CIDR notation`);
  }
  for (const d of c.dnsServers)
    if (!IPV4.test(d)) throw new TypeError(`DNS server ${JSON.stringify(d)} is not IPv4`);
}

/** The rules, exactly as `iptables -S <chain>` prints them, so verification is a comparison. */
export function firewallRules(c: FirewallConfig): { egress: string[]; input: string[] } {
  checkFirewallConfig(c);
  const { egress: E, input: I } = chains(c);
  const eg = c.egressSubnetPool;
  const sv = c.serverSubnetPool;
  const egress: string[] = [];
  for (const dns of c.dnsServers) {
    for (const proto of ['udp', 'tcp']) {
      egress.push(`-A ${E} -s ${eg} -d ${dns}/32 -p ${proto} -m ${proto} --dport 53 -j RETURN`);
    }
  }
  for (const r of [...BLOCKED_RANGES, ...c.extraBlocked]) egress.push(`-A ${E} -s ${eg} -d ${r} -j DROP`);
  egress.push(`-A ${E} -s ${sv} ! -d ${sv} -j DROP`);
  const input: string[] = [];
  for (const src of [eg, sv]) {
    input.push(`-A ${I} -s ${src} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`);
    input.push(`-A ${I} -s ${src} -j DROP`);
  }
  return { egress, input };
}

/** The `iptables-restore --noflush` input: declaring a chain empties it, so the swap is one transaction. */
export function restoreInput(c: FirewallConfig): string {
  const { egress: E, input: I } = chains(c);
  const r = firewallRules(c);
  return ['*filter', `:${E} - [0:0]`, `:${I} - [0:0]`, ...r.egress, ...r.input, 'COMMIT', ''].join('\n');
}

export interface Iptables {
  /** Runs `iptables args…` and resolves its stdout; rejects on a non-zero exit. */
  run(args: readonly string[]): Promise<string>;
  /** Runs `iptables-restore --noflush` with `input` on stdin. */
  restore(input: string): Promise<void>;
}

/** The real binaries (iptables-nft on Debian bookworm, like the host's Docker). */
export const systemIptables: Iptables = {
  async run(args) {
    const { stdout } = await run('iptables', ['-w', '5', ...args]);
    return stdout;
  },
  restore(input) {
    return new Promise((resolve, reject) => {
      const child = execFile('iptables-restore', ['-w', '5', '--noflush'], (err) =>
        err ? reject(err) : resolve(),
      );
      child.stdin?.end(input);
    });
  },
};

async function hasRule(ipt: Iptables, chain: string, target: string): Promise<boolean> {
  return ipt.run(['-C', chain, '-j', target]).then(
    () => true,
    () => false,
  );
}

/** How many times `chain` jumps to `target`. */
async function jumpCount(ipt: Iptables, chain: string, target: string): Promise<number> {
  const out = await ipt.run(['-S', chain]);
  return out.split('\n').filter((l) => l.trim() === `-A ${chain} -j ${target}`).length;
}

/** Loads the chains and hooks them in first place, once. Idempotent; safe to run at every `compose up`. */
export async function installFirewall(c: FirewallConfig, ipt: Iptables = systemIptables): Promise<void> {
  const { egress: E, input: I } = chains(c);
  const dockerUser = await ipt.run(['-S', 'DOCKER-USER']).catch(() => undefined);
  if (dockerUser === undefined) {
    throw new Error(
      'the DOCKER-USER chain does not exist: is this the Docker host, and is dockerd running with iptables?',
    );
  }
  await ipt.restore(restoreInput(c));
  for (const [chain, target] of [
    ['DOCKER-USER', E],
    ['INPUT', I],
  ] as const) {
    if (!(await hasRule(ipt, chain, target))) await ipt.run(['-I', chain, '1', '-j', target]);
    // Two installs racing may both insert the jump: keep one.
    while ((await jumpCount(ipt, chain, target)) > 1) await ipt.run(['-D', chain, '-j', target]);
  }
}

export type Verification =
  | { readonly ok: true }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Reads the chains back and compares them with {@link firewallRules}; checks both jumps are in place. */
export async function verifyFirewall(
  c: FirewallConfig,
  ipt: Iptables = systemIptables,
): Promise<Verification> {
  const { egress: E, input: I } = chains(c);
  const want = firewallRules(c);
  const problems: string[] = [];
  for (const [chain, rules] of [
    [E, want.egress],
    [I, want.input],
  ] as const) {
    const got = await ipt.run(['-S', chain]).catch(() => undefined);
    if (got === undefined) {
      problems.push(`chain ${chain} is missing`);
      continue;
    }
    const lines = got
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('-A '));
    const missing = rules.filter((r) => !lines.includes(r));
    const extra = lines.filter((l) => !rules.includes(l));
    for (const m of missing) problems.push(`missing: ${m}`);
    for (const x of extra) problems.push(`unexpected: ${x}`);
  }
  for (const [chain, target] of [
    ['DOCKER-USER', E],
    ['INPUT', I],
  ] as const) {
    const lines = (await ipt.run(['-S', chain]).catch(() => ''))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('-A '));
    const at = lines.indexOf(`-A ${chain} -j ${target}`);
    if (at === -1) problems.push(`${chain} does not jump to ${target}`);
    else {
      // A rule before ours that accepts would let through what ours drops.
      const before = lines
        .slice(0, at)
        .find((l) => / -j (ACCEPT|RETURN)$/.test(l) && !/ -j \S+-(EGRESS|INPUT)$/.test(l));
      if (before) problems.push(`${chain} accepts before ${target}: ${before}`);
    }
  }
  return problems.length === 0 ? { ok: true } : { ok: false, problems };
}

/** Deletes the jumps and the chains; what is already gone is fine. */
export async function removeFirewall(c: FirewallConfig, ipt: Iptables = systemIptables): Promise<void> {
  const { egress: E, input: I } = chains(c);
  for (const [chain, target] of [
    ['DOCKER-USER', E],
    ['INPUT', I],
  ] as const) {
    while (await hasRule(ipt, chain, target)) await ipt.run(['-D', chain, '-j', target]);
  }
  for (const chain of [E, I]) {
    await ipt.run(['-F', chain]).catch(() => undefined);
    await ipt.run(['-X', chain]).catch(() => undefined);
  }
}

/** `nameserver` lines of a resolv.conf, IPv4 only. */
export function nameservers(resolvConf: string): string[] {
  return resolvConf
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((a): a is string => a !== undefined && IPV4.test(a));
}

/**
 * `berth-firewall install|verify|remove`: the one-shot `firewall` service (host network, NET_ADMIN) that puts
 * the egress and host-access rules in place and checks them (docs/security.md#egress).
 */
import { readFileSync } from 'node:fs';
import {
  type FirewallConfig,
  installFirewall,
  nameservers,
  removeFirewall,
  verifyFirewall,
} from './firewall.ts';
import { createLogger } from './log.ts';

const list = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function firewallConfigFromEnv(env: NodeJS.ProcessEnv = process.env): FirewallConfig {
  const dns = env.BERTH_EGRESS_DNS
    ? list(env.BERTH_EGRESS_DNS)
    : nameservers(readFileSync('/etc/resolv.conf', 'utf8')).filter((a) => !a.startsWith('127.'));
  return {
    chainPrefix: env.BERTH_FIREWALL_CHAIN_PREFIX ?? 'BERTH',
    egressSubnetPool: env.BERTH_EGRESS_SUBNET_POOL ?? '10.212.0.0/16',
    serverSubnetPool: env.BERTH_SERVER_SUBNET_POOL ?? '10.213.0.0/16',
    dnsServers: dns,
    extraBlocked: list(env.BERTH_EGRESS_DENY),
  };
}

async function main(): Promise<void> {
  const log = createLogger(process.env.BERTH_LOG_LEVEL ?? 'info', 'berth-firewall');
  const command = process.argv[2] ?? 'install';
  const config = firewallConfigFromEnv();
  if (command === 'remove') {
    await removeFirewall(config);
    log.info({ config }, 'firewall rules removed');
    return;
  }
  if (command === 'install') await installFirewall(config);
  else if (command !== 'verify')
    throw new Error(`usage: berth-firewall install|verify|remove (got ${command})`);
  const v = await verifyFirewall(config);
  if (!v.ok) {
    log.error({ problems: v.problems }, 'firewall rules are not as expected');
    process.exitCode = 1;
    return;
  }
  log.info(
    { config },
    command === 'install' ? 'firewall rules installed and verified' : 'firewall rules verified',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`berth-firewall: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});

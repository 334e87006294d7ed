/** The firewall rules as data: what `berth-firewall install` writes, in the form `iptables -S` reads it back. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BLOCKED_RANGES,
  checkFirewallConfig,
  type FirewallConfig,
  firewallRules,
  nameservers,
  restoreInput,
} from './firewall.ts';

const config: FirewallConfig = {
  chainPrefix: 'BERTH',
  egressSubnetPool: '10.212.0.0/16',
  serverSubnetPool: '10.213.0.0/16',
  dnsServers: ['10.255.255.53'],
  extraBlocked: ['192.0.2.0/24'],
};

describe('firewall rules', () => {
  it('let DNS to the resolvers through, then drop every private, link-local and reserved range from the egress pool', () => {
    const { egress } = firewallRules(config);
    assert.deepEqual(egress.slice(0, 2), [
      '-A BERTH-EGRESS -s 10.212.0.0/16 -d 10.255.255.53/32 -p udp -m udp --dport 53 -j RETURN',
      '-A BERTH-EGRESS -s 10.212.0.0/16 -d 10.255.255.53/32 -p tcp -m tcp --dport 53 -j RETURN',
    ]);
    for (const r of [...BLOCKED_RANGES, '192.0.2.0/24']) {
      assert.ok(egress.includes(`-A BERTH-EGRESS -s 10.212.0.0/16 -d ${r} -j DROP`), r);
    }
    assert.ok(BLOCKED_RANGES.includes('169.254.0.0/16'), 'cloud metadata');
    assert.equal(egress.at(-1), '-A BERTH-EGRESS -s 10.213.0.0/16 ! -d 10.213.0.0/16 -j DROP');
  });

  it('keep both ranges off the host, except replies', () => {
    assert.deepEqual(firewallRules(config).input, [
      '-A BERTH-INPUT -s 10.212.0.0/16 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN',
      '-A BERTH-INPUT -s 10.212.0.0/16 -j DROP',
      '-A BERTH-INPUT -s 10.213.0.0/16 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN',
      '-A BERTH-INPUT -s 10.213.0.0/16 -j DROP',
    ]);
  });

  it('swap both chains in one iptables-restore transaction, touching no other chain', () => {
    const text = restoreInput(config);
    assert.match(text, /^\*filter\n:BERTH-EGRESS - \[0:0\]\n:BERTH-INPUT - \[0:0\]\n/);
    assert.match(text, /\nCOMMIT\n$/);
    for (const line of text.split('\n').filter((l) => l.startsWith('-A'))) {
      assert.match(line, /^-A BERTH-(EGRESS|INPUT) /);
    }
  });

  it('refuse a bad configuration', () => {
    assert.throws(() => checkFirewallConfig({ ...config, chainPrefix: 'berth; rm' }), /chain prefix/);
    assert.throws(() => checkFirewallConfig({ ...config, egressSubnetPool: '10.212.0.1/16' }), /CIDR/);
    assert.throws(() => checkFirewallConfig({ ...config, dnsServers: ['::1'] }), /IPv4/);
  });

  it('read IPv4 nameservers from resolv.conf', () => {
    assert.deepEqual(
      nameservers('# x\nnameserver 10.0.0.2\nnameserver ::1\n  nameserver 1.1.1.1 \nsearch x\n'),
      ['10.0.0.2', '1.1.1.1'],
    );
  });
});

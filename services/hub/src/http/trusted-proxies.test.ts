import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { describe, it } from 'node:test';
import { TrustedProxies } from './trusted-proxies.ts';

/** An address on one of this machine's own networks other than loopback (a neighbour, like a user container). */
function neighbour(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const i of addrs ?? [])
      if (i.family === 'IPv4' && !i.internal) return i.address.replace(/\.\d+$/, '.250');
  }
  return undefined;
}

describe('trusted proxies (who may say who the client is)', () => {
  it('trusts addresses, ranges and resolved names, nothing else', async () => {
    const t = await TrustedProxies.create(['192.0.2.7', '10.20.0.0/16', 'localhost']);
    assert.equal(t.trusts('192.0.2.7'), true);
    assert.equal(t.trusts('::ffff:192.0.2.7'), true, 'IPv4-mapped IPv6 is the same peer');
    assert.equal(t.trusts('10.20.255.1'), true);
    assert.equal(t.trusts('10.21.0.1'), false);
    assert.equal(t.trusts('127.0.0.1'), true, 'localhost resolved');
    assert.equal(t.trusts('198.51.100.1'), false);
    assert.equal(t.trusts('not-an-ip'), false);
    t.close();
  });

  it('trusts nothing when empty', async () => {
    const t = await TrustedProxies.create([]);
    assert.equal(t.empty, true);
    assert.equal(t.trusts('127.0.0.1'), false);
  });

  it('edge: one hop in front of a trusted proxy, only from a network the hub is not on', async () => {
    const t = await TrustedProxies.create(['192.0.2.7', 'edge']);
    assert.equal(t.trusts('198.51.100.9', 0), false, 'never the socket peer itself');
    assert.equal(t.trusts('198.51.100.9', 1), true, 'in front of the proxy, from elsewhere: Caddy');
    assert.equal(t.trusts('198.51.100.9', 2), false, 'only one hop');
    assert.equal(t.trusts('127.0.0.5', 1), false, 'on a network the hub is on (loopback)');
    const n = neighbour();
    if (n) assert.equal(t.trusts(n, 1), false, `on a network the hub is on (${n}): a user container`);
  });
});

/** The CA module: what it issues, and what it refuses. Verified with Node's own X.509 parser, not forge's. */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { type Authority, CertificateError, createAuthority, issueCertificate, notAfter } from './ca.ts';

const DAY = 86_400_000;

describe('tls/ca', () => {
  let ca: Authority;
  let other: Authority;
  before(async () => {
    [ca, other] = await Promise.all([createAuthority('notebooks-ca', 3650), createAuthority('hub-ca', 3650)]);
  });

  it('makes a CA that may sign end-entity certificates only', () => {
    const x = new X509Certificate(ca.certPem);
    assert.equal(x.ca, true);
    assert.match(x.subject, /CN=notebooks-ca/);
    assert.equal(x.subject, x.issuer, 'self-signed');
    assert.ok(x.verify(x.publicKey));
    assert.ok(Math.abs(notAfter(ca.certPem) - (Date.now() + 3650 * DAY)) < 60_000);
  });

  it('issues a server certificate: CN, SANs, EKU, chain and validity', async () => {
    const leaf = await issueCertificate(ca, {
      commonName: 'user-alice',
      altNames: ['berth-alice', 'localhost', '127.0.0.1'],
      usage: 'server',
      validityDays: 30,
    });
    const x = new X509Certificate(leaf.certPem);
    const issuer = new X509Certificate(ca.certPem);
    assert.equal(x.ca, false);
    assert.match(x.subject, /CN=user-alice/);
    assert.equal(x.subjectAltName, 'DNS:berth-alice, DNS:localhost, IP Address:127.0.0.1');
    assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'serverAuth only');
    assert.ok(x.checkIssued(issuer) && x.verify(issuer.publicKey), 'signed by the CA');
    assert.ok(!x.verify(new X509Certificate(other.certPem).publicKey), 'not by another CA');
    assert.ok(x.checkHost('berth-alice') && x.checkIP('127.0.0.1'));
    assert.equal(x.checkHost('berth-bob'), undefined, "not valid for another server's name");
    assert.ok(Math.abs(notAfter(leaf.certPem) - (Date.now() + 30 * DAY)) < 60_000);
    assert.ok(x.checkPrivateKey((await import('node:crypto')).createPrivateKey(leaf.keyPem)));
  });

  it('gives every certificate its own key and serial', async () => {
    const req = {
      commonName: 'user-alice',
      altNames: ['a'],
      usage: 'server+client' as const,
      validityDays: 1,
    };
    const [a, b] = await Promise.all([issueCertificate(ca, req), issueCertificate(ca, req)]);
    assert.notEqual(a.keyPem, b.keyPem);
    assert.notEqual(new X509Certificate(a.certPem).serialNumber, new X509Certificate(b.certPem).serialNumber);
    assert.deepEqual(new X509Certificate(a.certPem).keyUsage?.sort(), [
      '1.3.6.1.5.5.7.3.1',
      '1.3.6.1.5.5.7.3.2',
    ]);
  });

  it('never lets a leaf outlive its CA', async () => {
    const short = await createAuthority('short-ca', 2);
    const leaf = await issueCertificate(short, { commonName: 'x', usage: 'client', validityDays: 30 });
    assert.equal(notAfter(leaf.certPem), notAfter(short.certPem));
  });

  it('refuses bad requests with a coded error', async () => {
    const bad = [
      { commonName: 'x', altNames: ['bad name!'], usage: 'server', validityDays: 1 },
      { commonName: 'x', altNames: [], usage: 'server', validityDays: 1 },
      { commonName: 'x', usage: 'client', validityDays: 0 },
      { commonName: 'x', usage: 'client', validityDays: 5000 },
      { commonName: '', usage: 'client', validityDays: 1 },
    ] as const;
    for (const req of bad) {
      await assert.rejects(issueCertificate(ca, req), (e: unknown) => {
        return e instanceof CertificateError && e.code === 'INVALID_REQUEST';
      });
    }
    await assert.rejects(
      issueCertificate({ ...ca, keyPem: 'garbage' }, { commonName: 'x', usage: 'client', validityDays: 1 }),
      (e: unknown) => e instanceof CertificateError && e.code === 'INVALID_AUTHORITY',
    );
  });

  it('generates keys natively and asynchronously, never with forge', async () => {
    const forge = (await import('node-forge')).default;
    const original = forge.pki.rsa.generateKeyPair;
    let forgeCalls = 0;
    forge.pki.rsa.generateKeyPair = ((...args: unknown[]) => {
      forgeCalls++;
      return (original as (...a: unknown[]) => unknown)(...args);
    }) as typeof original;
    try {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      await issueCertificate(ca, { commonName: 'x', usage: 'client', validityDays: 1 });
      await createAuthority('y', 1);
      clearInterval(timer);
      assert.equal(forgeCalls, 0);
      assert.ok(ticks > 0, 'the event loop kept turning while keys were generated');
    } finally {
      forge.pki.rsa.generateKeyPair = original;
    }
  });
});

/**
 * The trust graph, attacked: real TLS servers configured exactly as Berth configures them (a user server as
 * jupyter_server does with JUPYTERHUB_SSL_*, the hub's listener with its options), and clients holding each
 * certificate of the graph, plus one from an authority outside it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { createAuthority, issueCertificate, type KeyPairPem } from './ca.ts';
import { initInternalTls, parseRotate } from './init.ts';
import { loadPki } from './pki.ts';
import { type InternalTls, loadInternalTls, type ServerTlsFiles } from './runtime.ts';

interface Client {
  readonly cert?: string;
  readonly key?: string;
  readonly ca: string;
}

/** GET over TLS; resolves with the status and the CN the server saw, rejects when the handshake fails. */
function get(port: number, client: Client, servername = 'localhost'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port,
      servername,
      path: '/',
      agent: false,
      ca: client.ca,
      ...(client.cert ? { cert: client.cert, key: client.key } : {}),
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    req.end();
  });
}

/** Plain HTTP to a TLS port: never a 200. */
function plain(port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? 'error'));
    req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
  });
}

async function serve(opts: https.ServerOptions): Promise<{ port: number; close: () => void }> {
  const server = https.createServer(opts, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    res.end(`hello ${peer.subject?.CN ?? 'nobody'}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** A user server as jupyter_server runs it with JUPYTERHUB_SSL_KEYFILE/CERTFILE/CLIENT_CA (CERT_REQUIRED). */
const userServer = (f: ServerTlsFiles) =>
  serve({ key: f.keyPem, cert: f.certPem, ca: f.clientCaPem, requestCert: true, rejectUnauthorized: true });

describe('internal TLS trust graph', () => {
  let dir: string;
  let tls: InternalTls;
  let alice: ServerTlsFiles;
  let bob: ServerTlsFiles;
  let proxyClient: Client;
  let rogue: KeyPairPem;
  let targetsCa: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-tls-'));
    await initInternalTls({
      secretsDir: dir,
      caDays: 3650,
      serviceCertDays: 365,
      hubNames: ['hub'],
      proxyNames: ['proxy', 'proxy-api'],
    });
    tls = await loadInternalTls({
      dir: join(dir, 'hub', 'tls'),
      enforceFileModes: true,
      serverCertDays: 30,
      caDays: 3650,
      serviceCertDays: 365,
      hubNames: ['hub'],
    });
    [alice, bob] = await Promise.all([
      tls.issue({ user: 'alice', serverName: '', hostnames: ['berth-alice'] }),
      tls.issue({ user: 'bob', serverName: '', hostnames: ['berth-bob'] }),
    ]);
    const p = (f: string) => readFileSync(join(dir, 'proxy', 'tls', f), 'utf8');
    targetsCa = p('targets-ca.pem');
    proxyClient = { cert: p('client.crt'), key: p('client.key'), ca: targetsCa };
    const outsider = await createAuthority('notebooks-ca', 30);
    rogue = await issueCertificate(outsider, {
      commonName: 'user-alice',
      altNames: ['berth-alice', 'localhost', '127.0.0.1'],
      usage: 'server+client',
      validityDays: 30,
    });
  });
  after(async () => {
    await tls.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every key 0600 in a 0700 directory, and reuses the authorities on the next run', async () => {
    for (const d of [join(dir, 'hub', 'tls'), join(dir, 'proxy', 'tls')]) {
      assert.equal(statSync(d).mode & 0o777, 0o700, d);
    }
    for (const f of [
      'hub/tls/notebooks-ca.key',
      'hub/tls/hub-ca.key',
      'hub/tls/hub.key',
      'proxy/tls/client.key',
    ]) {
      assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
    }
    const before = loadPki(join(dir, 'hub', 'tls'));
    const lines = await initInternalTls({
      secretsDir: dir,
      caDays: 3650,
      serviceCertDays: 365,
      hubNames: ['hub'],
      proxyNames: ['proxy', 'proxy-api'],
    });
    assert.ok(!lines.some((l) => l.startsWith('created') || l.startsWith('issued')), lines.join('\n'));
    assert.deepEqual(loadPki(join(dir, 'hub', 'tls')), before);
    assert.doesNotMatch(lines.join('\n'), /PRIVATE KEY/);
  });

  it('re-issues the hub certificate when its names change', async () => {
    const lines = await initInternalTls({
      secretsDir: dir,
      caDays: 3650,
      serviceCertDays: 365,
      hubNames: ['hub', 'hub-internal'],
      proxyNames: ['proxy', 'proxy-api'],
    });
    assert.ok(lines.includes(`issued ${join(dir, 'hub', 'tls', 'hub.crt')}`), lines.join('\n'));
    assert.ok(!lines.some((l) => l.startsWith('created')), 'the authorities stay');
  });

  describe("alice's server", () => {
    let server: { port: number; close: () => void };
    before(async () => {
      server = await userServer(alice);
    });
    after(() => server.close());

    it("answers the proxy's client certificate and the hub's", async () => {
      assert.equal(await get(server.port, proxyClient), '200 hello proxy-client');
      assert.equal(
        await get(server.port, { cert: tls.hub.certPem, key: tls.hub.keyPem, ca: targetsCa }),
        '200 hello hub',
      );
    });

    it("refuses bob's server certificate, which the same hub issued", async () => {
      await assert.rejects(get(server.port, { cert: bob.certPem, key: bob.keyPem, ca: targetsCa }));
    });

    it('refuses a client without a certificate, or with one from an authority outside the graph', async () => {
      await assert.rejects(get(server.port, { ca: targetsCa }));
      await assert.rejects(get(server.port, { cert: rogue.certPem, key: rogue.keyPem, ca: targetsCa }));
    });

    it('does not speak plain HTTP', async () => {
      assert.notEqual(await plain(server.port), 200);
    });
  });

  describe("the hub's listener (tls.listener)", () => {
    let hub: { port: number; close: () => void };
    before(async () => {
      hub = await serve(tls.listener);
    });
    after(() => hub.close());

    it("answers a user server (the API), the proxy (the default route) and the hub's own health check", async () => {
      // A server verifies the hub with its JUPYTERHUB_SSL_CLIENT_CA, as jupyterhub-singleuser does.
      assert.equal(
        await get(hub.port, { cert: alice.certPem, key: alice.keyPem, ca: alice.clientCaPem }, 'hub'),
        '200 hello user-alice',
      );
      assert.equal(await get(hub.port, proxyClient, 'hub'), '200 hello proxy-client');
      const ca = tls.pki.authorities['hub-ca'].certPem;
      assert.equal(
        await get(hub.port, { cert: tls.hub.certPem, key: tls.hub.keyPem, ca }, 'hub'),
        '200 hello hub',
      );
    });

    it('refuses no certificate, an outsider certificate, and plain HTTP', async () => {
      await assert.rejects(get(hub.port, { ca: alice.clientCaPem }, 'hub'));
      await assert.rejects(
        get(hub.port, { cert: rogue.certPem, key: rogue.keyPem, ca: alice.clientCaPem }, 'hub'),
      );
      assert.notEqual(await plain(hub.port), 200);
    });

    it('is not taken for a user server, nor a user server for the hub', async () => {
      // A server's JUPYTERHUB_SSL_CLIENT_CA trusts hub-ca: bob's server (notebooks-ca) cannot pose as the hub.
      const fake = await userServer(bob);
      try {
        await assert.rejects(
          get(fake.port, { cert: alice.certPem, key: alice.keyPem, ca: alice.clientCaPem }, 'hub'),
        );
      } finally {
        fake.close();
      }
    });
  });

  describe('the hub as a client of user servers (readiness)', () => {
    const ready = (port: number, host = '127.0.0.1') =>
      tls.waitReady({ url: `https://${host}:${port}/`, startTimeoutMs: 1_500, httpTimeoutMs: 1_000 });

    it('reaches a server whose certificate names the address it dials', async () => {
      const s = await userServer(alice);
      try {
        assert.deepEqual(await ready(s.port), { ok: true, version: null });
      } finally {
        s.close();
      }
    });

    it('refuses a server certificate for another name (hostname verification)', async () => {
      const wrong = await issueCertificate(tls.pki.authorities['notebooks-ca'], {
        commonName: 'user-bob',
        altNames: ['berth-bob'],
        usage: 'server',
        validityDays: 1,
      });
      const s = await userServer({ ...wrong, clientCaPem: alice.clientCaPem });
      try {
        assert.equal((await ready(s.port)).ok, false);
      } finally {
        s.close();
      }
    });

    it("refuses a server whose certificate is not from notebooks-ca (the hub's own, an outsider's)", async () => {
      for (const c of [tls.hub, rogue]) {
        const s = await userServer({ ...c, clientCaPem: alice.clientCaPem });
        try {
          assert.equal((await ready(s.port)).ok, false);
        } finally {
          s.close();
        }
      }
    });
  });
});

describe('rotating an authority (BERTH_INTERNAL_TLS_ROTATE)', () => {
  it('replaces it, drops its key, re-issues what it signed, and stops trusting what it issued', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-tls-rotate-'));
    try {
      const opts = {
        secretsDir: dir,
        caDays: 3650,
        serviceCertDays: 365,
        hubNames: ['hub'],
        proxyNames: ['proxy'],
      };
      await initInternalTls(opts);
      const hubDir = join(dir, 'hub', 'tls');
      const old = loadPki(hubDir);
      const oldProxyApi = readFileSync(join(dir, 'proxy', 'tls', 'api.crt'), 'utf8');
      const oldHub = readFileSync(join(hubDir, 'hub.crt'), 'utf8');
      const lines = await initInternalTls({ ...opts, rotate: ['notebooks-ca', 'proxy-api-ca'] });
      const now = loadPki(hubDir);
      assert.notEqual(now.authorities['notebooks-ca'].certPem, old.authorities['notebooks-ca'].certPem);
      assert.notEqual(now.authorities['proxy-api-ca'].keyPem, old.authorities['proxy-api-ca'].keyPem);
      assert.equal(now.authorities['hub-ca'].certPem, old.authorities['hub-ca'].certPem, 'others stay');
      assert.notEqual(readFileSync(join(dir, 'proxy', 'tls', 'api.crt'), 'utf8'), oldProxyApi, 're-issued');
      assert.equal(readFileSync(join(hubDir, 'hub.crt'), 'utf8'), oldHub, 'hub-ca did not change');
      assert.ok(
        lines.some((l) => l.startsWith('retired ') && l.includes('notebooks-ca')),
        lines.join('\n'),
      );
      const retired = readdirSync(join(hubDir, 'retired'));
      assert.equal(retired.filter((f) => f.endsWith('.crt')).length, 2);
      assert.ok(!retired.some((f) => f.endsWith('.key')), 'old keys are deleted, not kept');
      // A server certificate from the old notebooks-ca is no longer accepted by the proxy's bundle.
      const oldLeaf = await issueCertificate(old.authorities['notebooks-ca'], {
        commonName: 'user-alice',
        altNames: ['localhost'],
        usage: 'server',
        validityDays: 1,
      });
      const s = await serve({ key: oldLeaf.keyPem, cert: oldLeaf.certPem });
      try {
        const targets = readFileSync(join(dir, 'proxy', 'tls', 'targets-ca.pem'), 'utf8');
        await assert.rejects(get(s.port, { ca: targets }));
      } finally {
        s.close();
      }
      assert.throws(() => parseRotate('notebooks-ca,nope'), /unknown authority "nope"/);
      assert.deepEqual(parseRotate('all').length, 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

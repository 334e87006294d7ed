/**
 * The proxy's side of internal TLS, in-process and without Docker: the real proxy, configured from the files the
 * init step writes (as docker-compose.yml does), and the hub's real clients. The REST API answers only the hub's
 * certificate; the proxy reaches the hub (its default target) and user servers with its client certificate.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { Agent } from 'undici';
import { ChpRouteTable } from '../../services/hub/src/proxy/client.ts';
import { createAuthority, issueCertificate } from '../../services/hub/src/tls/ca.ts';
import { initInternalTls } from '../../services/hub/src/tls/init.ts';
import { type InternalTls, loadInternalTls } from '../../services/hub/src/tls/runtime.ts';
import { loadConfig } from '../../services/proxy/src/config.ts';
import { type RunningProxy, startProxy } from '../../services/proxy/src/start.ts';
import { request } from '../../services/proxy/src/testing/http-client.ts';

const TOKEN = 'internal-tls-test-token-0123456789';

describe('internal TLS: the proxy with the init step’s certificates', () => {
  let dir: string;
  let tls: InternalTls;
  let proxy: RunningProxy;
  let hub: https.Server;
  let alice: https.Server;
  let aliceCert: { certPem: string; keyPem: string };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-proxy-tls-'));
    await initInternalTls({
      secretsDir: dir,
      caDays: 30,
      serviceCertDays: 30,
      hubNames: ['localhost'],
      proxyNames: ['localhost'],
    });
    tls = await loadInternalTls({
      dir: join(dir, 'hub', 'tls'),
      enforceFileModes: true,
      serverCertDays: 1,
      caDays: 30,
      serviceCertDays: 30,
      hubNames: ['localhost'],
    });
    // The hub's listener (its real options) and alice's server (as jupyter_server runs it).
    const echo = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) =>
      res.end(`${(req.socket as TLSSocket).getPeerCertificate().subject?.CN} ${req.url}`);
    hub = https.createServer(tls.listener, echo);
    const files = await tls.issue({ user: 'alice', serverName: '', hostnames: ['localhost'] });
    aliceCert = files;
    alice = https.createServer(
      {
        key: files.keyPem,
        cert: files.certPem,
        ca: files.clientCaPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      echo,
    );
    await Promise.all([hub, alice].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
    const p = (f: string) => join(dir, 'proxy', 'tls', f);
    const { config } = loadConfig({
      CONFIGPROXY_AUTH_TOKEN: TOKEN,
      BERTH_PROXY_HOST: '127.0.0.1',
      BERTH_PROXY_PORT: '0',
      BERTH_PROXY_API_HOST: '127.0.0.1',
      BERTH_PROXY_API_PORT: '0',
      BERTH_PROXY_METRICS_HOST: '127.0.0.1',
      BERTH_PROXY_METRICS_PORT: '0',
      BERTH_PROXY_LOG_LEVEL: 'silent',
      BERTH_PROXY_DEFAULT_TARGET: `https://localhost:${(hub.address() as AddressInfo).port}`,
      BERTH_PROXY_API_TLS_CERT_FILE: p('api.crt'),
      BERTH_PROXY_API_TLS_KEY_FILE: p('api.key'),
      BERTH_PROXY_API_TLS_CLIENT_CA_FILE: p('api-clients-ca.pem'),
      BERTH_PROXY_TARGET_TLS_CA_FILE: p('targets-ca.pem'),
      BERTH_PROXY_TARGET_TLS_CERT_FILE: p('client.crt'),
      BERTH_PROXY_TARGET_TLS_KEY_FILE: p('client.key'),
    });
    proxy = await startProxy(config);
  });
  after(async () => {
    await proxy.close();
    for (const s of [hub, alice]) {
      s.closeAllConnections();
      s.close();
    }
    await tls.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = (dispatcher?: Agent, scheme = 'https') =>
    new ChpRouteTable({
      apiUrl: `${scheme}://localhost:${proxy.apiPort}`,
      authToken: TOKEN,
      timeoutMs: 5_000,
      ...(dispatcher ? { dispatcher } : {}),
    });

  it("answers the hub's client (hub certificate, proxy-api-ca verified) and routes to alice over mTLS", async () => {
    const hubApi = api(tls.toProxyApi);
    await hubApi.add('/user/alice', `https://localhost:${(alice.address() as AddressInfo).port}`);
    assert.deepEqual(Object.keys(await hubApi.list()), ['/', '/user/alice']);
    const res = await request(proxy.port, { path: '/user/alice/api' });
    assert.equal(res.status, 200);
    assert.equal(res.text, 'proxy-client /user/alice/api', 'alice saw the proxy’s client certificate');
    const toHub = await request(proxy.port, { path: '/hub/login' });
    assert.equal(toHub.text, 'proxy-client /hub/login', 'the hub saw the proxy’s client certificate');
  });

  it('refuses plain HTTP, no certificate, a user server’s certificate and an outsider’s on the REST API', async () => {
    await assert.rejects(api(undefined, 'http').list(), /unreachable/);
    const ca = readFileSync(join(dir, 'hub', 'tls', 'proxy-api-ca.crt'), 'utf8');
    const outsider = await issueCertificate(await createAuthority('hub-ca', 1), {
      commonName: 'hub',
      usage: 'client',
      validityDays: 1,
    });
    const clients = {
      none: new Agent({ connect: { ca } }),
      'alice (notebooks-ca)': new Agent({ connect: { ca, cert: aliceCert.certPem, key: aliceCert.keyPem } }),
      outsider: new Agent({ connect: { ca, cert: outsider.certPem, key: outsider.keyPem } }),
    };
    for (const [who, agent] of Object.entries(clients)) {
      await assert.rejects(api(agent).list(), /unreachable/, who);
      await agent.close();
    }
  });

  it('does not reach a target that is not in the graph (an outsider-signed server)', async () => {
    const outsider = await issueCertificate(await createAuthority('notebooks-ca', 1), {
      commonName: 'user-alice',
      altNames: ['localhost'],
      usage: 'server',
      validityDays: 1,
    });
    const fake = https.createServer({ key: outsider.keyPem, cert: outsider.certPem }, (_req, res) =>
      res.end('fake'),
    );
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    try {
      await api(tls.toProxyApi).add(
        '/user/mallory',
        `https://localhost:${(fake.address() as AddressInfo).port}`,
      );
      const res = await request(proxy.port, {
        path: '/user/mallory/api',
        headers: { accept: 'application/json' },
      });
      assert.equal(res.status, 503);
      assert.doesNotMatch(res.text, /fake/);
    } finally {
      fake.close();
    }
  });
});

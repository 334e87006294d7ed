import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { ConfigError, loadConfig, type ProxyConfig } from './config.ts';
import { Secret } from './secret.ts';
import { type RunningProxy, startProxy } from './start.ts';
import { TOKEN, testConfig } from './testing/harness.ts';
import { request } from './testing/http-client.ts';
import { createTestPki, type Pem, type TestPki } from './testing/tls.ts';

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One HTTPS request; rejects when the TLS handshake fails. */
function httpsGet(
  port: number,
  path: string,
  opts: { ca: string; client?: Pem; token?: string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port,
      path,
      ca: opts.ca,
      ...(opts.client ? { cert: opts.client.cert, key: opts.client.key } : {}),
      headers: opts.token ? { authorization: `token ${opts.token}` } : {},
      agent: false,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.end();
  });
}

describe('TLS: the REST API and https targets (internal TLS)', () => {
  let pki: TestPki;
  let server: Pem;
  let hub: Pem;
  let proxyClient: Pem;
  let rogue: Pem;
  before(() => {
    pki = createTestPki();
    server = pki.issue('server');
    hub = pki.issue('hub');
    proxyClient = pki.issue('proxy-client');
    rogue = pki.issue('rogue', pki.otherCa);
  });
  after(() => pki.cleanup());

  describe('the REST API with a client CA (mutual TLS)', () => {
    let proxy: RunningProxy;
    before(async () => {
      proxy = await startProxy(
        testConfig({ apiTls: { cert: server.cert, key: new Secret(server.key), clientCa: pki.ca.cert } }),
      );
    });
    after(() => proxy.close());

    it('answers a client with a certificate from the CA and the token', async () => {
      const res = await httpsGet(proxy.apiPort, '/api/routes', {
        ca: pki.ca.cert,
        client: hub,
        token: TOKEN,
      });
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.body), {});
    });

    it('still requires the token from a client with a good certificate', async () => {
      const res = await httpsGet(proxy.apiPort, '/api/routes', {
        ca: pki.ca.cert,
        client: hub,
        token: 'wrong',
      });
      assert.equal(res.status, 403);
    });

    it('refuses, in the handshake, a client without a certificate or with one from another CA', async () => {
      await assert.rejects(httpsGet(proxy.apiPort, '/api/routes', { ca: pki.ca.cert, token: TOKEN }));
      await assert.rejects(
        httpsGet(proxy.apiPort, '/api/routes', { ca: pki.ca.cert, client: rogue, token: TOKEN }),
      );
    });

    it('does not speak plain HTTP on the API port', async () => {
      const res = await request(proxy.apiPort, {
        path: '/api/routes',
        headers: { authorization: `token ${TOKEN}` },
      }).catch(() => undefined);
      assert.notEqual(res?.status, 200);
    });
  });

  describe('https targets', () => {
    let target: https.Server;
    let targetUrl: string;
    before(async () => {
      // A user server that, like one started with JUPYTERHUB_SSL_CLIENT_CA, accepts only certificates from the CA.
      target = https.createServer(
        { cert: server.cert, key: server.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true },
        (req, res) => {
          const peer = (req.socket as TLSSocket).getPeerCertificate();
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(`hello ${peer.subject?.CN ?? 'nobody'}`);
        },
      );
      await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
      targetUrl = `https://127.0.0.1:${(target.address() as AddressInfo).port}`;
    });
    after(() => {
      target.closeAllConnections();
      target.close();
    });

    async function through(targetTls: ProxyConfig['targetTls'], to = targetUrl): Promise<number | string> {
      const proxy = await startProxy(testConfig({ targetTls }));
      try {
        const add = await request(proxy.apiPort, {
          method: 'POST',
          path: '/api/routes/user/alice',
          headers: { authorization: `token ${TOKEN}` },
          body: JSON.stringify({ target: to }),
        });
        assert.equal(add.status, 201);
        const res = await request(proxy.port, { path: '/user/alice/api/status' });
        return res.status === 200 ? res.text : res.status;
      } finally {
        await proxy.close();
      }
    }

    it('presents the client certificate and verifies the target against the CA', async () => {
      const answer = await through({
        ca: pki.ca.cert,
        cert: proxyClient.cert,
        key: new Secret(proxyClient.key),
      });
      assert.equal(answer, 'hello proxy-client');
    });

    it('answers 503 when the target cannot be verified or refuses the proxy', async () => {
      assert.equal(await through(undefined), 503, 'system CAs do not trust the test CA');
      assert.equal(
        await through({ ca: pki.ca.cert, cert: undefined, key: undefined }),
        503,
        'no client cert',
      );
      const wrong = { ca: pki.ca.cert, cert: rogue.cert, key: new Secret(rogue.key) };
      assert.equal(await through(wrong), 503, 'a client cert from another CA');
    });

    it("answers 503 when the target's certificate, from the right CA, names another server", async () => {
      // The same certificate (for 127.0.0.1 and localhost), served at an address it does not name: as if bob's
      // server answered at alice's name.
      const elsewhere = https.createServer(
        { cert: server.cert, key: server.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true },
        (_req, res) => res.end('should not be reached'),
      );
      await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.2', resolve));
      try {
        const url = `https://127.0.0.2:${(elsewhere.address() as AddressInfo).port}`;
        const tls = { ca: pki.ca.cert, cert: proxyClient.cert, key: new Secret(proxyClient.key) };
        assert.equal(await through(tls, url), 503);
      } finally {
        elsewhere.closeAllConnections();
        elsewhere.close();
      }
    });
  });

  describe('configuration', () => {
    it('reads the PEM files, and keeps keys redacted', () => {
      const { config } = loadConfig({
        CONFIGPROXY_AUTH_TOKEN: TOKEN,
        BERTH_PROXY_API_TLS_CERT_FILE: server.certFile,
        BERTH_PROXY_API_TLS_KEY_FILE: server.keyFile,
        BERTH_PROXY_API_TLS_CLIENT_CA_FILE: pki.ca.certFile,
        BERTH_PROXY_TARGET_TLS_CA_FILE: pki.ca.certFile,
        BERTH_PROXY_TARGET_TLS_CERT_FILE: proxyClient.certFile,
        BERTH_PROXY_TARGET_TLS_KEY_FILE: proxyClient.keyFile,
      });
      assert.equal(config.apiTls?.cert, server.cert);
      assert.equal(config.apiTls?.key.reveal(), server.key);
      assert.equal(config.apiTls?.clientCa, pki.ca.cert);
      assert.equal(config.targetTls?.key?.reveal(), proxyClient.key);
      assert.doesNotMatch(JSON.stringify(config), /PRIVATE KEY/);
    });

    it('refuses half a pair, a client CA without a certificate, and a file that is not PEM', () => {
      const cases: [Record<string, string>, string][] = [
        [{ BERTH_PROXY_API_TLS_CERT_FILE: server.certFile }, 'BERTH_PROXY_API_TLS_KEY_FILE'],
        [{ BERTH_PROXY_API_TLS_CLIENT_CA_FILE: pki.ca.certFile }, 'BERTH_PROXY_API_TLS_CLIENT_CA_FILE'],
        [{ BERTH_PROXY_TARGET_TLS_KEY_FILE: proxyClient.keyFile }, 'BERTH_PROXY_TARGET_TLS_CERT_FILE'],
        [{ BERTH_PROXY_TARGET_TLS_CA_FILE: `${pki.dir}/leaf.ext` }, 'BERTH_PROXY_TARGET_TLS_CA_FILE'],
        [{ BERTH_PROXY_TARGET_TLS_CA_FILE: `${pki.dir}/missing.pem` }, 'BERTH_PROXY_TARGET_TLS_CA_FILE'],
      ];
      for (const [env, variable] of cases) {
        assert.throws(
          () => loadConfig({ CONFIGPROXY_AUTH_TOKEN: TOKEN, ...env }),
          (err: unknown) => err instanceof ConfigError && err.variable === variable,
          variable,
        );
      }
    });
  });
});

/** Internal TLS settings: on by default, https URLs required while on, day counts validated. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './load.ts';

const base = {
  BERTH_DATABASE_URL: 'postgres://berth:x@localhost/berth',
  CONFIGPROXY_AUTH_TOKEN: 'a-token-of-sixteen-plus',
};

describe('config: internal TLS', () => {
  it('is on by default, with https URLs for the hub API and the proxy API', () => {
    const c = loadConfig(base);
    assert.equal(c.internalTls.enabled, true);
    assert.equal(c.internalTls.dir, '/run/berth/hub/tls');
    assert.equal(c.internalTls.serverCertDays, 30);
    assert.equal(c.hubApiUrlForServers, 'https://hub:8081/hub/api');
    assert.equal(c.proxy.apiUrl, 'https://proxy:8001');
  });

  it('can be turned off (development), and the defaults become http', () => {
    const c = loadConfig({ ...base, BERTH_INTERNAL_TLS: '0' });
    assert.equal(c.internalTls.enabled, false);
    assert.equal(c.hubApiUrlForServers, 'http://hub:8081/hub/api');
    assert.equal(c.proxy.apiUrl, 'http://proxy:8001');
  });

  it('refuses plain http URLs while it is on, bad flags and bad day counts, naming the variable', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ BERTH_HUB_API_URL: 'http://hub:8081/hub/api' }, /BERTH_HUB_API_URL: .*https/],
      [{ BERTH_PROXY_API_URL: 'http://proxy-api:8001' }, /BERTH_PROXY_API_URL: .*https/],
      [{ BERTH_INTERNAL_TLS: 'yes' }, /BERTH_INTERNAL_TLS: expected 1 or 0/],
      [{ BERTH_INTERNAL_TLS_SERVER_CERT_DAYS: '30d' }, /BERTH_INTERNAL_TLS_SERVER_CERT_DAYS/],
      [{ BERTH_INTERNAL_TLS_SERVER_CERT_DAYS: '0' }, /internalTls\.serverCertDays/],
      [{ BERTH_INTERNAL_TLS_SERVER_CERT_DAYS: '400', BERTH_INTERNAL_TLS_CA_DAYS: '365' }, /outlive/],
    ];
    for (const [env, message] of cases) {
      assert.throws(
        () => loadConfig({ ...base, ...env }),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
        JSON.stringify(env),
      );
    }
  });
});

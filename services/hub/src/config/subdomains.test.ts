import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './load.ts';

const base = {
  BERTH_DATABASE_URL: 'postgres://u:p@db/berth',
  BERTH_PUBLIC_URL: 'https://hub.example.org',
  CONFIGPROXY_AUTH_TOKEN: 'x'.repeat(32),
};

describe('config: per-user subdomains (BERTH_SUBDOMAIN_HOST)', () => {
  it('is off by default and when empty', () => {
    assert.equal(loadConfig(base).subdomainHost, undefined);
    assert.equal(loadConfig({ ...base, BERTH_SUBDOMAIN_HOST: '' }).subdomainHost, undefined);
  });

  it("is on with the hub's own https origin", () => {
    const c = loadConfig({ ...base, BERTH_SUBDOMAIN_HOST: 'https://hub.example.org' });
    assert.equal(new URL(c.subdomainHost as string).origin, 'https://hub.example.org');
  });

  it('refuses http, a path, and an origin other than the public URL', () => {
    for (const [value, message] of [
      ['http://hub.example.org', /subdomainHost/],
      ['https://hub.example.org/jupyter/', /subdomainHost/],
      ['https://example.org', /BERTH_SUBDOMAIN_HOST: must be the origin of BERTH_PUBLIC_URL/],
      ['hub.example.org', /subdomainHost/],
    ] as const) {
      assert.throws(
        () => loadConfig({ ...base, BERTH_SUBDOMAIN_HOST: value }),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
        value,
      );
    }
  });
});

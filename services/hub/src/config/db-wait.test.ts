import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './load.ts';

const base = {
  BERTH_DATABASE_URL: 'postgres://u:p@db/berth',
  BERTH_PUBLIC_URL: 'https://hub.example.org',
  CONFIGPROXY_AUTH_TOKEN: 'x'.repeat(32),
};

describe('config: BERTH_DB_WAIT_SECONDS', () => {
  it('waits a minute for the database by default, as long as asked otherwise, 0 asking once', () => {
    assert.equal(loadConfig(base).database.waitMs, 60_000);
    assert.equal(loadConfig({ ...base, BERTH_DB_WAIT_SECONDS: '300' }).database.waitMs, 300_000);
    assert.equal(loadConfig({ ...base, BERTH_DB_WAIT_SECONDS: '0' }).database.waitMs, 0);
  });

  it('refuses what is not a number of seconds, naming the setting', () => {
    for (const bad of ['-1', 'soon', '1.5'])
      assert.throws(
        () => loadConfig({ ...base, BERTH_DB_WAIT_SECONDS: bad }),
        (e: unknown) => e instanceof ConfigError && /BERTH_DB_WAIT_SECONDS/.test(e.message),
        bad,
      );
  });
});

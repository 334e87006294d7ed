import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './load.ts';

const base = {
  BERTH_DATABASE_URL: 'postgres://u:p@db/berth',
  BERTH_PUBLIC_URL: 'https://hub.example.org',
  CONFIGPROXY_AUTH_TOKEN: 'x'.repeat(32),
};
const swarm = { ...base, BERTH_SPAWNER: 'swarm', BERTH_NETWORK_ISOLATION: 'shared' };

describe('config: the spawner backend (BERTH_SPAWNER, BERTH_SWARM_CONSTRAINTS)', () => {
  it('is the Docker spawner by default', () => {
    const c = loadConfig(base).spawner;
    assert.equal(c.backend, 'docker');
    assert.deepEqual(c.swarmConstraints, []);
  });

  it('swarm, with the shared overlay network and constraints for every server', () => {
    const c = loadConfig({
      ...swarm,
      BERTH_SWARM_CONSTRAINTS: 'node.role==worker, node.labels.jupyter == yes',
    });
    assert.equal(c.spawner.backend, 'swarm');
    assert.deepEqual(c.spawner.swarmConstraints, ['node.role==worker', 'node.labels.jupyter == yes']);
  });

  it('refuses swarm with per-server networks, unknown backends and constraints that smuggle in others', () => {
    assert.throws(() => loadConfig({ ...base, BERTH_SPAWNER: 'swarm' }), /BERTH_NETWORK_ISOLATION=shared/);
    assert.throws(() => loadConfig({ ...base, BERTH_SPAWNER: 'kubernetes' }), ConfigError);
    for (const bad of ['node.role', 'node.role==worker;rm', 'a==b==c']) {
      assert.throws(() => loadConfig({ ...swarm, BERTH_SWARM_CONSTRAINTS: bad }), /swarmConstraints/, bad);
    }
  });
});

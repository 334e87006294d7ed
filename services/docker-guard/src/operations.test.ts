/** The allowlist of calls: what dockerode sends for the spawner parses, everything else does not. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { labelFilters } from './decide.ts';
import { forwardUrl, parseRequest } from './operations.ts';

describe('parseRequest', () => {
  const allowed: [string, string, string][] = [
    ['GET', '/_ping', 'ping'],
    ['HEAD', '/v1.41/_ping', 'ping'],
    ['GET', '/version', 'version'],
    ['GET', '/images/berth/singleuser:lab/json', 'image.inspect'],
    ['GET', `/images/sha256:${'a'.repeat(64)}/json`, 'image.inspect'],
    ['POST', '/containers/create?name=berth-alice', 'container.create'],
    ['GET', '/containers/json?all=true&filters=%7B%7D', 'container.list'],
    ['GET', '/containers/berth-alice/json', 'container.inspect'],
    ['POST', '/containers/abc/start', 'container.action'],
    ['POST', '/containers/abc/stop?t=10', 'container.action'],
    ['POST', '/containers/abc/kill', 'container.action'],
    ['POST', '/containers/abc/wait?condition=not-running', 'container.action'],
    ['GET', '/containers/abc/logs?stdout=true&tail=10', 'container.logs'],
    ['DELETE', '/containers/abc?force=true', 'container.remove'],
    ['PUT', '/containers/abc/archive?path=/tls', 'container.archive'],
    ['GET', '/containers/abc/archive?path=/home/.', 'container.archive'],
    ['GET', '/volumes?filters=%7B%7D', 'volume.list'],
    ['POST', '/volumes/create', 'volume.create'],
    ['GET', '/volumes/berth-home-alice', 'volume.inspect'],
    ['DELETE', '/volumes/berth-home-alice', 'volume.remove'],
    ['POST', '/networks/create', 'network.create'],
    ['GET', '/networks/berth-alice-net', 'network.inspect'],
    ['POST', '/networks/berth-alice-net/connect', 'network.connect'],
    ['POST', '/networks/berth-alice-net/disconnect', 'network.disconnect'],
    ['DELETE', '/networks/berth-alice-net', 'network.remove'],
    ['POST', '/v1.41/services/create', 'service.create'],
    ['GET', '/services?filters=%7B%7D', 'service.list'],
    ['GET', '/services/berth-alice', 'service.inspect'],
    ['DELETE', '/services/abc', 'service.remove'],
    ['GET', '/services/abc/logs?stdout=true&tail=10', 'service.logs'],
    ['GET', '/tasks?filters=%7B%7D', 'task.list'],
    ['GET', '/nodes', 'node.list'],
    ['POST', '/secrets/create', 'secret.create'],
    ['GET', '/secrets?filters=%7B%7D', 'secret.list'],
    ['DELETE', '/secrets/abc', 'secret.remove'],
  ];
  for (const [method, url, kind] of allowed) {
    it(`allows ${method} ${url}`, () => assert.equal(parseRequest(method, url)?.op.kind, kind));
  }

  const refused: [string, string][] = [
    ['POST', '/containers/abc/exec'],
    ['POST', '/services/abc/update?version=1'],
    ['POST', '/swarm/join'],
    ['GET', '/swarm'],
    ['POST', '/nodes/abc/update?version=1'],
    ['DELETE', '/nodes/abc'],
    ['GET', '/secrets/abc'],
    ['POST', '/secrets/abc/update'],
    ['POST', '/configs/create'],
    ['GET', '/tasks/abc/logs'],
    ['POST', '/plugins/pull'],
    ['POST', '/exec/abc/start'],
    ['POST', '/containers/abc/attach'],
    ['HEAD', '/containers/abc/archive?path=/etc'],
    ['POST', '/containers/abc/commit'],
    ['POST', '/commit?container=abc'],
    ['POST', '/containers/abc/update'],
    ['POST', '/containers/abc/rename?name=x'],
    ['POST', '/containers/abc/pause'],
    ['GET', '/containers/abc/export'],
    ['POST', '/build'],
    ['POST', '/images/create?fromImage=evil'],
    ['POST', '/images/berth/singleuser/push'],
    ['POST', '/images/berth/singleuser/tag?repo=x'],
    ['DELETE', '/images/berth/singleuser'],
    ['DELETE', '/volumes'],
    ['POST', '/volumes/prune'],
    ['POST', '/containers/prune'],
    ['GET', '/info'],
    ['GET', '/events'],
    ['POST', '/swarm/init'],
    ['GET', '/plugins'],
    ['POST', '/session'],
    ['GET', '/system/df'],
    ['GET', '/containers/..%2F..%2Finfo/json'],
    ['GET', '/containers/../info'],
    ['GET', '/containers//json'],
    ['GET', '/containers/a/b/json'],
    ['GET', 'http://x/_ping'],
    ['GET', '/v1.41/../_ping'],
    ['POST', '/_ping'],
  ];
  for (const [method, url] of refused) {
    it(`refuses ${method} ${url}`, () => assert.equal(parseRequest(method, url), undefined));
  }

  it('forwards only the parameters Docker reads (dockerode copies the body, environment included, into the query)', () => {
    const p = parseRequest(
      'POST',
      '/containers/create?name=berth-alice&Env=TOKEN%3Dsecret&HostConfig=%7B%7D',
    );
    assert.ok(p);
    assert.equal(forwardUrl(p), '/containers/create?name=berth-alice');
    const s = parseRequest('POST', '/v1.41/containers/abc/stop?t=10&signal=KILL');
    assert.ok(s);
    assert.equal(forwardUrl(s), '/v1.41/containers/abc/stop?t=10');
  });
});

describe('labelFilters', () => {
  it('reads both JSON shapes', () => {
    assert.deepEqual(labelFilters('{"label":["a=b","c"]}'), ['a=b', 'c']);
    assert.deepEqual(labelFilters('{"label":{"a=b":true,"x":false}}'), ['a=b']);
    assert.equal(labelFilters(null), undefined);
    assert.equal(labelFilters('not json'), undefined);
    assert.equal(labelFilters('{"status":["running"]}'), undefined);
  });
});

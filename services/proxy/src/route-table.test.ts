import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RouteTable, routeToJson } from './route-table.ts';

function clock(start: number) {
  let now = start;
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
  };
}

describe('RouteTable', () => {
  it('stores keys like CHP, without a trailing slash', () => {
    const table = new RouteTable();
    table.add('/user/alice/', 'http://a:8888', {});
    assert.deepEqual(
      table.list().map((r) => r.path),
      ['/user/alice'],
    );
    assert.equal(table.get('/user/alice')?.target, 'http://a:8888');
    assert.equal(table.get('user/alice/')?.target, 'http://a:8888');
  });

  it('returns extra data in CHP shape, and the server owns target and last_activity', () => {
    const c = clock(Date.UTC(2024, 0, 1));
    const table = new RouteTable(c.now);
    const route = table.add('/user/alice', 'http://a:8888', {
      user: 'alice',
      nested: { a: [1, 2] },
      last_activity: '1999-01-01T00:00:00Z',
      target: 'ignored',
    });
    assert.deepEqual(routeToJson(route), {
      user: 'alice',
      nested: { a: [1, 2] },
      target: 'http://a:8888',
      last_activity: '2024-01-01T00:00:00.000Z',
    });
  });

  it('keeps a __proto__ key as data, never as a prototype', () => {
    const table = new RouteTable();
    const data = JSON.parse('{"__proto__": {"polluted": true}, "user": "x"}') as Record<string, unknown>;
    const json = routeToJson(table.add('/p', 'http://p', data));
    assert.equal(Object.getPrototypeOf(json), Object.prototype);
    assert.equal((json as { polluted?: unknown }).polluted, undefined);
    assert.match(JSON.stringify(json), /"__proto__":\{"polluted":true\}/);
  });

  it('touches only a route that still exists with the same target', () => {
    const c = clock(1_000_000);
    const table = new RouteTable(c.now);
    const route = table.add('/user/alice', 'http://a', {});
    c.advance(5_000);
    table.touch(route);
    assert.equal(table.get('/user/alice')?.lastActivity.getTime(), 1_005_000);
    table.remove('/user/alice');
    table.touch(route);
    assert.equal(table.get('/user/alice'), undefined);
    table.add('/user/alice', 'http://elsewhere', {});
    c.advance(5_000);
    table.touch(route);
    assert.equal(table.get('/user/alice')?.lastActivity.getTime(), 1_005_000);
  });

  it('filters inactive routes strictly older than the date', () => {
    const c = clock(1_000_000);
    const table = new RouteTable(c.now);
    table.add('/old', 'http://o', {});
    c.advance(10);
    table.add('/new', 'http://n', {});
    const paths = (since: number) => table.list(new Date(since)).map((r) => r.path);
    assert.deepEqual(paths(1_000_005), ['/old']);
    assert.deepEqual(paths(1_000_000), []);
    assert.deepEqual(paths(1_000_011), ['/old', '/new']);
  });

  it('reports removed and replaced routes, and which origins are still used', () => {
    const table = new RouteTable();
    const removed: string[] = [];
    table.onRemoved((r) => removed.push(`${r.path}->${r.target}`));
    table.add('/a', 'http://h:1/x', {});
    table.add('/b', 'http://h:1/y', {});
    table.add('/a', 'http://h:2', {});
    table.remove('/b');
    table.remove('/missing');
    assert.deepEqual(removed, ['/a->http://h:1/x', '/b->http://h:1/y']);
    assert.equal(table.usesOrigin('http://h:1'), false);
    assert.equal(table.usesOrigin('http://h:2'), true);
  });
});

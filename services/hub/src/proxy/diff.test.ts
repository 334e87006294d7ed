import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffRoutes } from './diff.ts';

const d = (path: string, target: string) => ({ path, target, data: { berth: true } });

describe('diffRoutes', () => {
  it('adds missing routes and those whose target changed', () => {
    const r = diffRoutes([d('/user/a/', 'http://a:8888'), d('/user/b/', 'http://b2:8888')], {
      '/user/b': { target: 'http://b:8888', berth: true },
    });
    assert.deepEqual(
      r.add.map((x) => x.path),
      ['/user/a/', '/user/b/'],
    );
    assert.deepEqual(r.remove, []);
  });
  it('removes only stale routes the hub owns', () => {
    const r = diffRoutes([d('/user/a/', 'http://a:8888')], {
      '/user/a': { target: 'http://a:8888', berth: true },
      '/user/gone': { target: 'http://x', berth: true },
      '/services/other': { target: 'http://y' },
    });
    assert.deepEqual(r.add, []);
    assert.deepEqual(r.remove, ['/user/gone']);
  });
  it('is a no-op when in sync', () => {
    const r = diffRoutes([d('/user/a/', 'http://a:8888')], {
      '/user/a': { target: 'http://a:8888', berth: true },
    });
    assert.deepEqual(r, { add: [], remove: [] });
  });
});

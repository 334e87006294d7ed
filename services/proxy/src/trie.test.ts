import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathSegments } from './paths.ts';
import { RouteTrie } from './trie.ts';

describe('RouteTrie', () => {
  const trie = new RouteTrie<string>();
  trie.set('/user/alice', 'alice');
  trie.set('/user/alice2', 'alice2');
  trie.set('/user/al', 'al');
  trie.set('/', 'root');

  it('matches the longest prefix on whole segments', () => {
    assert.equal(trie.match('/user/alice/api/status'), 'alice');
    assert.equal(trie.match('/user/alice'), 'alice');
    assert.equal(trie.match('/user/alice/'), 'alice');
    assert.equal(trie.match('/user/alice2/tree'), 'alice2');
    assert.equal(trie.match('/user/al/x'), 'al');
    assert.equal(trie.match('/user/alic'), 'root');
    assert.equal(trie.match('/user/alice22'), 'root');
    assert.equal(trie.match('/'), 'root');
    assert.equal(trie.match(''), 'root');
  });

  it('treats prototype property names as plain segments', () => {
    const t = new RouteTrie<string>();
    t.set('/a', 'a');
    assert.equal(t.match('/__proto__/x'), undefined);
    assert.equal(t.match('/constructor'), undefined);
    t.set('/__proto__', 'proto');
    assert.equal(t.match('/__proto__/x'), 'proto');
    assert.equal(t.match('/a/__proto__'), 'a');
  });

  it('has no match without a root value', () => {
    const t = new RouteTrie<string>();
    t.set('/user/bob', 'bob');
    assert.equal(t.match('/user'), undefined);
    assert.equal(t.match('/hub/home'), undefined);
  });

  it('deletes only the exact path and prunes empty branches', () => {
    const t = new RouteTrie<string>();
    t.set('/user/alice', 'alice');
    t.set('/user/alice/lab', 'lab');
    t.set('/user', 'user');
    assert.equal(t.delete('/user/alice/nothing'), false);
    assert.equal(t.delete('/user/alice'), true);
    assert.equal(t.delete('/user/alice'), false);
    assert.equal(t.match('/user/alice/lab/x'), 'lab');
    assert.equal(t.match('/user/alice/tree'), 'user');
    assert.equal(t.delete('/user/alice/lab'), true);
    assert.equal(t.match('/user/alice/lab/x'), 'user');
    t.set('/user/alice', 'again');
    assert.equal(t.match('/user/alice/lab'), 'again');
  });

  it('can delete and re-add the root', () => {
    const t = new RouteTrie<string>();
    t.set('/', 'root');
    assert.equal(t.delete('/'), true);
    assert.equal(t.match('/x'), undefined);
  });

  it('keeps working with many routes', () => {
    const t = new RouteTrie<number>();
    for (let i = 0; i < 20_000; i++) t.set(`/user/u${i}`, i);
    assert.equal(t.match('/user/u19999/lab/tree/a/b'), 19999);
    assert.equal(t.match('/user/u20000'), undefined);
  });

  it('matches as a walk over pathSegments would, for odd slashes too', () => {
    const trie = new RouteTrie<string>();
    for (const key of ['/', '/a', '/a/b', '/a//c', '/x/y/z']) trie.set(key, key);
    const keys = new Set(['/', '/a', '/a/b', '/a//c', '/x/y/z']);
    // The longest stored prefix of the path's segments.
    const reference = (path: string): string | undefined => {
      const segments = pathSegments(path);
      for (let k = segments.length; k >= 0; k--) {
        const key = `/${segments.slice(0, k).join('/')}`;
        if (keys.has(key)) return key;
      }
      return undefined;
    };
    for (const path of [
      '',
      '/',
      '//',
      'a',
      '/a',
      '/a/',
      '//a//',
      '/a/b',
      '/a/b/c',
      '/a//c',
      '/a//c/',
      '/a///c',
      '/x/y',
      '/x/y/z/w',
      '/ab',
      '/a/bc',
    ]) {
      assert.equal(trie.match(path), reference(path), path);
    }
  });
});

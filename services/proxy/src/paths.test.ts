import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodePath,
  fastRequestTarget,
  parseRequestTarget,
  parseWithUrl,
  pathSegments,
  routingHost,
  trimRoutePath,
} from './paths.ts';

describe('trimRoutePath (CHP trimPrefix)', () => {
  it('ensures a leading slash and drops one trailing slash, except for the root', () => {
    assert.equal(trimRoutePath('/user/alice/'), '/user/alice');
    assert.equal(trimRoutePath('user/alice'), '/user/alice');
    assert.equal(trimRoutePath('/'), '/');
    assert.equal(trimRoutePath(''), '/');
  });
});

describe('pathSegments (CHP stringToPath)', () => {
  it('strips outer slashes and keeps inner empty segments', () => {
    assert.deepEqual(pathSegments('/'), []);
    assert.deepEqual(pathSegments('//user/alice//'), ['user', 'alice']);
    assert.deepEqual(pathSegments('/user//alice'), ['user', '', 'alice']);
  });
});

describe('parseRequestTarget', () => {
  it('resolves dot segments, also percent-encoded ones, as a browser would', () => {
    assert.equal(parseRequestTarget('/user/alice/../bob/')?.pathname, '/user/bob/');
    assert.equal(parseRequestTarget('/user/alice/%2e%2E/bob/')?.pathname, '/user/bob/');
    assert.equal(parseRequestTarget('/user/alice/./x')?.pathname, '/user/alice/x');
    assert.equal(parseRequestTarget('/../../etc')?.pathname, '/etc');
  });

  it('keeps an encoded slash inside its segment when resolving', () => {
    assert.equal(parseRequestTarget('/user/alice/..%2Fbob/')?.pathname, '/user/alice/..%2Fbob/');
  });

  it('keeps the query and drops a fragment', () => {
    assert.deepEqual(parseRequestTarget('/a/b?x=1&y=%20#frag'), { pathname: '/a/b', search: '?x=1&y=%20' });
  });

  it('never reads a host from a network-path reference', () => {
    assert.equal(parseRequestTarget('//evil.example/x')?.pathname, '//evil.example/x');
  });

  it('takes the path of an absolute-form target and refuses other forms', () => {
    assert.equal(parseRequestTarget('http://other.example/user/alice?q')?.pathname, '/user/alice');
    assert.equal(parseRequestTarget('*'), undefined);
    assert.equal(parseRequestTarget('example.com:443'), undefined);
    assert.equal(parseRequestTarget('javascript:alert(1)'), undefined);
    assert.equal(parseRequestTarget(undefined), undefined);
  });
});

describe('decodePath', () => {
  it('decodes like decodeURIComponent and reports malformed escapes', () => {
    assert.equal(decodePath('/user/al%69ce/a%20b'), '/user/alice/a b');
    assert.equal(decodePath('/user/%E0%A4%A'), undefined);
    assert.equal(decodePath('/%'), undefined);
  });
});

describe('routingHost', () => {
  it('lower-cases and strips the port', () => {
    assert.equal(routingHost('Alice.Example.COM:8443'), 'alice.example.com');
    assert.equal(routingHost('10.0.0.1'), '10.0.0.1');
  });

  it('refuses anything that is not a plain host name', () => {
    for (const bad of [undefined, '', 'a/b', '../x', 'a b', '[::1]:80', 'a..b', '-a.com', 'a_b.com']) {
      assert.equal(routingHost(bad), undefined, String(bad));
    }
  });

  it('the fast path answers exactly as the WHATWG parser, or leaves the target to it', () => {
    // Every character class that matters: dots, escapes, separators, characters the parser encodes, non-ASCII.
    const alphabet = [
      'a',
      'Z',
      '0',
      '/',
      '/',
      '.',
      '..',
      '%2e',
      '%2E',
      '%2F',
      '%zz',
      '%',
      '?',
      '#',
      '\\',
      ' ',
      '"',
      "'",
      '<',
      '>',
      '`',
      '{',
      '|',
      '^',
      '[',
      ']',
      '~',
      ';',
      '@',
      ':',
      '=',
      '&',
      '+',
      'é',
      '\t',
      '%00',
    ];
    let seed = 42;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    let fast = 0;
    for (let i = 0; i < 20_000; i++) {
      let raw = '/';
      const length = next() % 12;
      for (let j = 0; j < length; j++) raw += alphabet[next() % alphabet.length];
      const quick = fastRequestTarget(raw);
      if (quick === undefined) continue;
      fast++;
      assert.deepEqual(quick, parseWithUrl(raw), raw);
    }
    assert.ok(fast > 1_000, `the fast path took ${fast} of the targets`);
    for (const plain of [
      '/user/alice/lab',
      '/user/alice/api/kernels?token=x&y=1',
      '/user/a/files/b.ipynb',
      '/x?',
    ]) {
      assert.notEqual(fastRequestTarget(plain), undefined, plain);
    }
    for (const odd of ['/a/../b', '/a/%2e%2e/b', '/a/.', '/a b', '/a\\b', '/a?x#y', '/é', "/a?'"]) {
      assert.equal(fastRequestTarget(odd), undefined, odd);
      assert.deepEqual(parseRequestTarget(odd), parseWithUrl(odd));
    }
  });
});

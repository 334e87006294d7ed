import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePath, parseRequestTarget, pathSegments, routingHost, trimRoutePath } from './paths.ts';

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
});

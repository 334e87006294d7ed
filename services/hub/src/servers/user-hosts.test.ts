import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safeNextBeforeLogin, safeNextForUser } from '../web/next-url.ts';
import { singleUserEnv } from './env.ts';
import { dnsLabel, pathUserHosts, subdomainUserHosts, userHostSources } from './user-hosts.ts';

const hosts = subdomainUserHosts('https://hub.example.org');
const base = {
  token: 't'.repeat(64),
  hubApiUrl: 'http://hub:8081/hub/api',
  publicUrl: 'https://hub.example.org',
  port: 8888,
  image: 'berth/singleuser:lab',
  defaultUrl: '/lab',
  adminEnv: {},
};

describe('per-user subdomains (BERTH_SUBDOMAIN_HOST)', () => {
  it("puts each user's servers on the user's own host, JupyterHub's layout", () => {
    assert.equal(hosts.origin('alice'), 'https://alice.hub.example.org');
    assert.equal(hosts.serverUrl('alice', ''), 'https://alice.hub.example.org/user/alice/');
    assert.equal(hosts.serverUrl('alice', 'gpu'), 'https://alice.hub.example.org/user/alice/gpu/');
    assert.equal(hosts.callbackUrl('alice', ''), 'https://alice.hub.example.org/user/alice/oauth_callback');
    const local = subdomainUserHosts('https://localhost:8443');
    assert.equal(local.serverUrl('bob', ''), 'https://bob.localhost:8443/user/bob/');
  });

  it("registers host-based proxy routes (CHP's host routing: /<host>/<path>)", () => {
    assert.equal(hosts.routePath('alice', ''), '/alice.hub.example.org/user/alice/');
    assert.equal(
      subdomainUserHosts('https://localhost:8443').routePath('bob', 'x'),
      '/bob.localhost/user/bob/x/',
    );
    assert.equal(pathUserHosts.routePath('alice', ''), '/user/alice/');
  });

  it('turns names that are not one DNS label into distinct labels that cannot collide with real names', () => {
    assert.equal(dnsLabel('alice'), 'alice');
    const dotted = dnsLabel('a.b');
    assert.match(dotted, /^a-b--[0-9a-f]{12}$/);
    assert.notEqual(dnsLabel('a_b'), dotted, 'a.b and a_b get different hosts');
    assert.match(
      dnsLabel('a--b'),
      /--[0-9a-f]{12}$/,
      'a real name with -- is encoded, so it cannot pose as one',
    );
    assert.match(dnsLabel('x'.repeat(64)), /^x{40}--[0-9a-f]{12}$/);
    assert.match(dnsLabel('me@example.org'), /^me-example-org--[0-9a-f]{12}$/);
    for (const n of ['a.b', 'me@example.org', 'x'.repeat(64)]) assert.ok(dnsLabel(n).length <= 63);
  });

  it('gives servers the PROTOCOL.md environment for subdomains', () => {
    const env = singleUserEnv({ ...base, user: 'alice', serverName: '', userHosts: hosts });
    assert.equal(
      env.JUPYTERHUB_HOST,
      'https://hub.example.org',
      "the hub's host, as JupyterHub's subdomain_host",
    );
    assert.equal(
      env.JUPYTERHUB_OAUTH_CALLBACK_URL,
      'https://alice.hub.example.org/user/alice/oauth_callback',
    );
    assert.equal(env.JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED, '1');
    assert.equal(env.JUPYTERHUB_SERVICE_PREFIX, '/user/alice/');
    assert.equal(env.JUPYTERHUB_PUBLIC_URL, 'https://alice.hub.example.org/user/alice/');
    assert.equal(env.JUPYTERHUB_PUBLIC_HUB_URL, 'https://hub.example.org/hub/');
  });

  it('keeps the single-origin environment when subdomains are off', () => {
    const env = singleUserEnv({ ...base, user: 'alice', serverName: '' });
    assert.equal(env.JUPYTERHUB_HOST, '');
    assert.equal(env.JUPYTERHUB_OAUTH_CALLBACK_URL, '/user/alice/oauth_callback');
    assert.equal(env.JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED, undefined);
    assert.equal(env.JUPYTERHUB_PUBLIC_URL, 'https://hub.example.org/user/alice/');
  });

  it('lets the login form go on to user hosts (CSP form-action) only with subdomains', () => {
    assert.deepEqual(userHostSources('https://hub.example.org'), ['https://*.hub.example.org']);
    assert.deepEqual(userHostSources('https://localhost:8443'), ['https://*.localhost:8443']);
    assert.deepEqual(userHostSources(undefined), []);
  });
});

describe('post-login destinations with subdomains (open redirects)', () => {
  const own = 'https://alice.hub.example.org/user/alice/lab?x=1';

  it("allows a full URL on the signed-in user's own host", () => {
    assert.equal(safeNextForUser(own, hosts, 'alice'), own);
    assert.equal(safeNextBeforeLogin(own, hosts), own, 'kept until the user is known');
  });

  it("refuses another user's host, other sites, look-alikes, credentials and other schemes", () => {
    for (const next of [
      'https://bob.hub.example.org/user/bob/',
      'https://evil.example/',
      'https://alice.hub.example.org.evil.example/',
      'https://hub.example.org.evil.example/',
      'https://evilhub.example.org/',
      'https://a.b.hub.example.org/',
      'https://alice.hub.example.org:444/user/alice/',
      'http://alice.hub.example.org/user/alice/',
      'https://x@alice.hub.example.org/user/alice/',
      'https://alice.hub.example.org\\@evil.example/',
      ' https://alice.hub.example.org/',
      'https://alice.hub.example.org/\n',
      'javascript:alert(1)//alice.hub.example.org',
      '//alice.hub.example.org/user/alice/',
    ]) {
      assert.equal(safeNextForUser(next, hosts, 'alice'), '/hub/home', next);
    }
    assert.equal(safeNextBeforeLogin('https://evil.example/', hosts), '/hub/home');
    assert.equal(safeNextBeforeLogin('https://a.b.hub.example.org/', hosts), '/hub/home');
  });

  it('still allows same-origin paths, and refuses every full URL without subdomains', () => {
    assert.equal(safeNextForUser('/hub/token', hosts, 'alice'), '/hub/token');
    assert.equal(safeNextForUser(own, pathUserHosts, 'alice'), '/hub/home');
    assert.equal(safeNextBeforeLogin(own, pathUserHosts), '/hub/home');
  });
});

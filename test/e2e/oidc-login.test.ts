import assert from 'node:assert/strict';
import type { LookupFunction } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { signInAtProvider } from '../../services/hub/src/auth/oidc/testing/provider.ts';
import {
  BrowserClient,
  type ClientResponse,
  xsrfFrom,
} from '../../services/hub/src/testing/browser-client.ts';
import { ComposeStack, freePort } from '../support/compose.ts';
import { jupyterApi, startServer } from '../support/jupyter.ts';

/**
 * Resolve `*.localhost` to loopback, as Chromium and systemd-resolved do (RFC 6761): the test client reaches the
 * demo IdP at the same issuer URL the hub container uses (where the name is the IdP's network alias).
 */
const localhostLookup: LookupFunction = (hostname, options, callback) => {
  if (hostname !== 'localhost' && !hostname.endsWith('.localhost')) {
    callback(
      Object.assign(new Error(`not resolving ${hostname} in this test`), { code: 'ENOTFOUND' }),
      '',
      4,
    );
    return;
  }
  if (options.all)
    (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [
      { address: '127.0.0.1', family: 4 },
    ]);
  else callback(null, '127.0.0.1', 4);
};

/**
 * The walking skeleton's path, logged in through a real OpenID Provider: the compose stack with the `oidc-demo`
 * profile (oidc-provider over https with its own CA, on a free port), configured only through the variables
 * docs/authentication.md lists.
 */
describe('OIDC login in the compose stack (oidc-demo profile)', { timeout: 900_000 }, () => {
  let stack: ComposeStack;
  let issuer: string;
  let idp: Agent;

  before(async () => {
    const idpPort = await freePort();
    issuer = `https://idp.localhost:${idpPort}`;
    stack = await ComposeStack.create({
      COMPOSE_PROFILES: 'oidc-demo',
      BERTH_OIDC_DEMO_PORT: String(idpPort),
      BERTH_AUTHENTICATORS: 'local,oidc',
      BERTH_ALLOWED_GROUPS: 'researchers',
      BERTH_ADMIN_GROUPS: 'hub-admins',
      BERTH_OIDC_ISSUER: issuer,
      BERTH_OIDC_CLIENT_ID: 'berth',
      BERTH_OIDC_CLIENT_SECRET_FILE: '/run/berth/oidc-demo/client_secret',
      BERTH_OIDC_CA_FILE: '/run/berth/oidc-demo/ca.crt',
      BERTH_OIDC_DISPLAY_NAME: 'Demo IdP',
      BERTH_OIDC_SCOPES: 'openid profile groups offline_access',
      // No BERTH_AUTH_STATE_KEY_FILE: the key init made is the default.
    });
    await stack.up();
    // Trust the demo IdP's test CA, as a browser whose user accepted it would.
    const ca = await stack.composeOk(['exec', '-T', 'oidc-demo', 'cat', '/opt/idp/tls/ca.crt']);
    idp = new Agent({ connect: { ca: ca.stdout, lookup: localhostLookup } });
  });

  after(async () => {
    await idp?.close();
    if (stack && process.env.BERTH_E2E_KEEP !== '1') await stack.down();
  });

  /** Press "Sign in with Demo IdP", sign in there as `user`, and follow the IdP back to the hub. */
  async function oidcLogin(user: string): Promise<{ client: BrowserClient; res: ClientResponse }> {
    const client = new BrowserClient(stack.base, stack.dispatcher);
    const page = await client.get('/hub/login');
    assert.equal(page.status, 200);
    assert.match(page.body, /Sign in with Demo IdP/);
    const href = /href="(\/hub\/oidc\/login[^"]*)"/.exec(page.body)?.[1];
    assert.ok(href, 'the login page links to the IdP');
    const start = await client.request('GET', href.replaceAll('&amp;', '&'));
    assert.equal(start.status, 302, `oidc/login: ${start.status} ${start.body.slice(0, 200)}`);
    const authUrl = new URL(start.headers.get('location') ?? '');
    assert.equal(authUrl.origin, issuer, 'the browser is sent to the issuer the hub discovered');
    const callback = `${stack.base}/hub/oidc/callback`;
    const query = await signInAtProvider({ issuer }, idp, authUrl.href, user, callback);
    const res = await client.follow('GET', `/hub/oidc/callback${query}`);
    return { client, res };
  }

  it('logs alice in at the IdP, makes her admin through her group, and starts her server', async () => {
    const { client: alice, res } = await oidcLogin('alice');
    assert.equal(new URL(res.url).pathname, '/hub/home', `ended at ${res.url} (${res.status})`);
    const home = await alice.get('/hub/home');
    const me = await alice.request('GET', '/hub/api/user', {
      headers: { 'x-xsrftoken': xsrfFrom(home.body) },
    });
    assert.equal(me.status, 200, me.body.slice(0, 200));
    const model = JSON.parse(me.body) as { name: string; admin: boolean };
    assert.equal(model.name, 'alice');
    assert.equal(model.admin, true, 'hub-admins grants admin');
    const lab = await startServer(alice, 'alice');
    assert.equal(lab.status, 200, `landed at ${lab.url}`);
    const status = await jupyterApi(alice, 'GET', '/user/alice/api/status');
    assert.equal(status.status, 200);

    // Logging out ends the hub session and sends the browser to the IdP's end-session endpoint.
    const out = await alice.postForm('/hub/logout', { _xsrf: xsrfFrom(home.body) }, false);
    assert.equal(out.status, 302);
    assert.equal(new URL(out.headers.get('location') ?? '').origin, issuer);
    const after = await alice.request('GET', '/hub/api/user', { headers: { 'sec-fetch-mode': 'cors' } });
    assert.equal(after.status, 403);
  });

  it('refuses a user outside the allowed groups and a forged callback, and creates neither', async () => {
    const { res } = await oidcLogin('carol');
    assert.equal(res.status, 403, `carol: ${res.status} at ${res.url}`);
    assert.match(res.body, /not allowed/);

    const forger = new BrowserClient(stack.base, stack.dispatcher);
    const forged = await forger.get('/hub/oidc/callback?code=stolen&state=guessed');
    assert.equal(forged.status, 403);

    const users = await stack.composeOk([
      'exec',
      '-T',
      'postgres',
      'psql',
      '-U',
      'berth',
      '-d',
      'berth',
      '-tAc',
      'SELECT name FROM users',
    ]);
    assert.doesNotMatch(users.stdout, /carol/);
    assert.match(users.stdout, /alice/);
  });
});

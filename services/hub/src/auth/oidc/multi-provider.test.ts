import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { BrowserClient, xsrfFrom } from '../../testing/browser-client.ts';
import { type Harness, startHarness } from '../../testing/hub-harness.ts';
import { signInAtProvider, startTestProvider, type TestProvider } from './testing/provider.ts';

const HUB = 'http://127.0.0.1';
const SECRET_A = 'corp-client-secret-for-tests-only';
const SECRET_B = 'lab-client-secret-for-tests-only';

/** Two real OpenID Providers at once: `oidc` (Corp) and `oidc:lab` (Lab), each with its own button and routes. */
describe('several OIDC providers side by side (two oidc-provider processes, real Postgres)', () => {
  let corp: TestProvider;
  let lab: TestProvider;
  let corpAgent: Agent;
  let labAgent: Agent;
  let h: Harness;

  before(async () => {
    corp = await startTestProvider(
      [
        {
          client_id: 'berth',
          client_secret: SECRET_A,
          redirect_uris: [`${HUB}/hub/oidc/callback`],
          post_logout_redirect_uris: [`${HUB}/hub/login`],
        },
      ],
      { alice: { groups: ['researchers'] } },
    );
    lab = await startTestProvider(
      [
        {
          client_id: 'berth-lab',
          client_secret: SECRET_B,
          redirect_uris: [`${HUB}/hub/oidc/lab/callback`],
          post_logout_redirect_uris: [`${HUB}/hub/login`],
        },
      ],
      { bob: { groups: ['researchers', 'hub-admins'] }, carol: { groups: ['outsiders'] } },
    );
    corpAgent = new Agent({ connect: { ca: corp.ca.ca } });
    labAgent = new Agent({ connect: { ca: lab.ca.ca } });
    const keyFile = join(corp.ca.dir, 'auth-state.key');
    writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    h = await startHarness({
      env: {
        BERTH_AUTHENTICATORS: 'local,oidc,oidc:lab',
        BERTH_ALLOWED_GROUPS: 'researchers',
        BERTH_ADMIN_GROUPS: 'hub-admins',
        BERTH_OIDC_DISPLAY_NAME: 'Corp IdP',
        BERTH_OIDC_ISSUER: corp.issuer,
        BERTH_OIDC_CLIENT_ID: 'berth',
        BERTH_OIDC_CLIENT_SECRET: SECRET_A,
        BERTH_OIDC_SCOPES: 'openid profile groups offline_access',
        BERTH_OIDC_CA_FILE: corp.ca.caFile,
        BERTH_OIDC_LAB_DISPLAY_NAME: 'Lab IdP',
        BERTH_OIDC_LAB_ISSUER: lab.issuer,
        BERTH_OIDC_LAB_CLIENT_ID: 'berth-lab',
        BERTH_OIDC_LAB_CLIENT_SECRET: SECRET_B,
        BERTH_OIDC_LAB_SCOPES: 'openid profile groups offline_access',
        BERTH_OIDC_LAB_CA_FILE: lab.ca.caFile,
        BERTH_AUTH_STATE_KEY_FILE: keyFile,
      },
    });
  });
  after(async () => {
    await h?.close();
    await corp?.stop();
    await lab?.stop();
    await corpAgent?.close();
    await labAgent?.close();
  });

  /** Press a provider's button, sign in there, and return what the IdP sends back to `callbackPath`. */
  async function signIn(c: BrowserClient, button: string, op: TestProvider, agent: Agent, user: string) {
    const start = await c.request('GET', button);
    assert.equal(start.status, 302, `${button}: ${start.status}`);
    const authUrl = start.headers.get('location') ?? '';
    assert.ok(authUrl.startsWith(`${op.issuer}/auth?`), `${button} sent the browser to ${authUrl}`);
    const redirect = new URL(authUrl).searchParams.get('redirect_uri') ?? '';
    return { query: await signInAtProvider(op, agent, authUrl, user, redirect), redirect };
  }

  it('shows one button per provider, in configuration order, beside the password form', async () => {
    const page = await new BrowserClient(h.base).get('/hub/login');
    const buttons = [...page.body.matchAll(/href="(\/hub\/oidc\/[^"?]*)[^"]*">Sign in with ([^<]+)</g)].map(
      (m) => [m[1], m[2]],
    );
    assert.deepEqual(buttons, [
      ['/hub/oidc/login', 'Corp IdP'],
      ['/hub/oidc/lab/login', 'Lab IdP'],
    ]);
    assert.match(page.body, /name="password"/);
  });

  it('logs each user in at their own provider and remembers which one', async () => {
    const a = new BrowserClient(h.base);
    const viaCorp = await signIn(a, '/hub/oidc/login?next=%2Fhub%2Fhome', corp, corpAgent, 'alice');
    assert.equal(viaCorp.redirect, `${HUB}/hub/oidc/callback`);
    const resA = await a.request('GET', `/hub/oidc/callback${viaCorp.query}`);
    assert.equal(resA.status, 302, resA.body.slice(0, 200));
    assert.equal(resA.headers.get('location'), '/hub/home');

    const b = new BrowserClient(h.base);
    const viaLab = await signIn(b, '/hub/oidc/lab/login?next=%2Fhub%2Fhome', lab, labAgent, 'bob');
    assert.equal(viaLab.redirect, `${HUB}/hub/oidc/lab/callback`);
    const resB = await b.request('GET', `/hub/oidc/lab/callback${viaLab.query}`);
    assert.equal(resB.status, 302, resB.body.slice(0, 200));

    const alice = await h.hub.ctx.users.byName('alice');
    const bob = await h.hub.ctx.users.byName('bob');
    assert.equal(alice?.authenticator, 'oidc');
    assert.equal(alice?.admin, false);
    assert.equal(bob?.authenticator, 'oidc:lab');
    assert.equal(bob?.admin, true, "the Lab IdP's hub-admins group grants admin");

    // Logging out sends each user to their own provider's end-session endpoint.
    const home = await b.get('/hub/home');
    const out = await b.postForm('/hub/logout', { _xsrf: xsrfFrom(home.body) }, false);
    assert.equal(new URL(out.headers.get('location') ?? '').origin, new URL(lab.issuer).origin);
  });

  it("refuses an IdP's answer delivered to another provider's callback (mix-up), even with the flow cookie copied", async () => {
    const c = new BrowserClient(h.base);
    const { query } = await signIn(c, '/hub/oidc/login', corp, corpAgent, 'alice');
    const mixed = await c.request('GET', `/hub/oidc/lab/callback${query}`);
    assert.equal(mixed.status, 403);
    assert.equal(c.cookie('berth-session'), undefined);

    const c2 = new BrowserClient(h.base);
    const again = await signIn(c2, '/hub/oidc/login', corp, corpAgent, 'alice');
    const flow = c2.cookie('berth-oidc-flow');
    assert.ok(flow);
    c2.setCookie('berth-oidc-flow-lab', flow, '/hub/oidc/lab/');
    const copied = await c2.request('GET', `/hub/oidc/lab/callback${again.query}`);
    assert.equal(copied.status, 403, 'a flow is bound to the provider that began it');
    assert.equal(c2.cookie('berth-session'), undefined);
  });

  it('refuses a user the second provider knows but the allowed groups do not, and creates no user', async () => {
    const c = new BrowserClient(h.base);
    const { query } = await signIn(c, '/hub/oidc/lab/login', lab, labAgent, 'carol');
    const res = await c.request('GET', `/hub/oidc/lab/callback${query}`);
    assert.equal(res.status, 403);
    assert.equal(await h.hub.ctx.users.byName('carol'), undefined);
  });
});

import { after } from 'node:test';
import { Agent } from 'undici';
import { authenticatorConformance } from '../authenticator.conformance.ts';
import { OidcAuthenticator } from './oidc-authenticator.ts';
import { signInAtProvider, startTestProvider, type TestProvider } from './testing/provider.ts';

const CALLBACK = 'http://127.0.0.1/hub/oidc/callback';
const SECRET = 'berth-client-secret-for-tests-only';

let op: TestProvider | undefined;
let agent: Agent | undefined;
after(async () => {
  await op?.stop();
  await agent?.close();
});

authenticatorConformance(
  'OIDC (oidc-provider over https)',
  async () => {
    const accounts: Record<string, { groups: string[] }> = {
      alice: { groups: ['researchers', 'hub-admins'] },
      bob: { groups: ['researchers'] },
      carol: { groups: ['outsiders'] },
    };
    const provider = await startTestProvider(
      [{ client_id: 'berth', client_secret: SECRET, redirect_uris: [CALLBACK] }],
      accounts,
    );
    op = provider;
    const dispatcher = new Agent({ connect: { ca: provider.ca.ca } });
    agent = dispatcher;
    const authenticator = new OidcAuthenticator({
      displayName: 'Test IdP',
      issuer: provider.issuer,
      clientId: 'berth',
      clientSecret: SECRET,
      redirectUri: CALLBACK,
      scopes: ['openid', 'profile', 'groups'],
      usernameClaim: 'preferred_username',
      groupsClaim: 'groups',
      ca: provider.ca.ca,
      timeoutMs: 5000,
      logoutAtIdp: true,
    });
    return {
      authenticator,
      admin: { username: 'alice', password: 'any' },
      member: { username: 'bob', password: 'any' },
      outsider: { username: 'carol', password: 'any' },
      allowedGroup: 'researchers',
      adminGroup: 'hub-admins',
      async signIn({ username }) {
        const { url, flow } = await authenticator.begin('/hub/home');
        const query = await signInAtProvider(provider, dispatcher, url.href, username, CALLBACK);
        return { kind: 'callback', url: new URL(`${CALLBACK}${query}`), flow };
      },
      async setMember(name, group, member) {
        const groups = (accounts[name]?.groups ?? []).filter((g) => g !== group);
        accounts[name] = { groups: member ? [...groups, group] : groups };
        provider.setAccounts(accounts);
      },
      async close() {
        await authenticator.close();
      },
    };
  },
  {
    wrongCredentials:
      'passwords are checked by the IdP, not Berth; its forged-state, nonce and code cases are in oidc-authenticator.test.ts',
    blankPasswords: 'Berth never sees an OIDC password',
  },
);

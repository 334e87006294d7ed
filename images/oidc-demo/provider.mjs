// Berth's demo IdP: oidc-provider over https on the issuer's port (8443 unless OIDC_ISSUER says otherwise).
// Any password logs in as a seeded user.
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import Provider from 'oidc-provider';

const issuer = process.env.OIDC_ISSUER ?? 'https://idp.localhost:8443';
// The same port inside the container as on the host, so the hub and the browser share one issuer URL.
const port = Number(new URL(issuer).port || 443);
const hub = (process.env.BERTH_PUBLIC_URL ?? 'https://localhost').replace(/\/$/, '');
const clientSecret = 'berth-demo-client-secret';
const accounts = {
  alice: ['researchers', 'hub-admins'],
  bob: ['researchers'],
  carol: ['outsiders'],
};

// Hand the hub what it needs to trust and use this IdP (demo only: a real IdP never shares these like this).
copyFileSync('/opt/idp/tls/ca.crt', '/share/ca.crt');
writeFileSync('/share/client_secret', clientSecret, { mode: 0o600 });
if (!existsSync('/share/auth_state.key')) {
  writeFileSync('/share/auth_state.key', `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'berth',
      client_secret: clientSecret,
      redirect_uris: [`${hub}/hub/oidc/callback`],
      post_logout_redirect_uris: [`${hub}/hub/login`],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    },
  ],
  async findAccount(_ctx, id) {
    if (!accounts[id]) return undefined;
    return {
      accountId: id,
      claims: async () => ({
        sub: id,
        preferred_username: id,
        email: `${id}@example.org`,
        groups: accounts[id],
      }),
    };
  },
  claims: { openid: ['sub'], profile: ['preferred_username'], email: ['email'], groups: ['groups'] },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
});
const server = createServer({
  cert: readFileSync('/opt/idp/tls/server.crt'),
  key: readFileSync('/opt/idp/tls/server.key'),
});
server.on('request', provider.callback());
server.listen(port, '0.0.0.0', () => process.stdout.write(`demo IdP at ${issuer}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

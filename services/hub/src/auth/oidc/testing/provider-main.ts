/**
 * A real OpenID Provider (the certified `oidc-provider` package) for tests, run as its own process:
 *   node provider-main.ts   with BERTH_OP_CERT, BERTH_OP_KEY, BERTH_OP_ACCOUNTS (a JSON file, read at each
 *   login: {"alice": {"groups": [...]}}), BERTH_OP_CLIENTS (JSON array of client metadata).
 * Prints `listening <port>` once it serves https on 127.0.0.1. Any password logs in (devInteractions); the
 * account must exist in the accounts file.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import Provider from 'oidc-provider';

const env = process.env;
const accounts = () =>
  JSON.parse(readFileSync(env.BERTH_OP_ACCOUNTS ?? '', 'utf8')) as Record<string, { groups: string[] }>;
const server = createServer({
  cert: readFileSync(env.BERTH_OP_CERT ?? ''),
  key: readFileSync(env.BERTH_OP_KEY ?? ''),
});
await new Promise<void>((r) => server.listen(Number(env.BERTH_OP_PORT ?? 0), '127.0.0.1', r));
const port = (server.address() as { port: number }).port;
const issuer = `https://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: JSON.parse(env.BERTH_OP_CLIENTS ?? '[]'),
  async findAccount(_ctx, id) {
    const a = accounts()[id];
    if (!a) return undefined;
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          preferred_username: id,
          email: `${id}@example.org`,
          groups: accounts()[id]?.groups ?? [],
        };
      },
    };
  },
  claims: { openid: ['sub'], profile: ['preferred_username'], email: ['email'], groups: ['groups'] },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: ['test-cookie-key-not-secret'] },
  async issueRefreshToken(_ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    IdToken: 600,
    RefreshToken: 3600,
    Session: 3600,
    Grant: 3600,
    Interaction: 600,
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<p>error: ${String(out.error)}</p>`;
  },
});
provider.proxy = false;
server.on('request', provider.callback());
process.stdout.write(`listening ${port}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));

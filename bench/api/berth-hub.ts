/**
 * Berth's hub for the API benchmark: the real composition root (createHub) on a real Postgres, with the
 * spawner and route table that need no Docker (nothing is spawned). Prints {"port": N} once it listens.
 * Seeds an admin (token BENCH_ADMIN_TOKEN) and alice (token BENCH_USER_TOKEN), stored as hashes as usual.
 */
import pino from 'pino';
import { createHub } from '../../services/hub/src/app.ts';
import { loadConfig } from '../../services/hub/src/config/load.ts';
import { hashToken } from '../../services/hub/src/sessions/tokens.ts';
import { ListeningSpawner } from '../../services/hub/src/testing/listening-spawner.ts';
import { MemoryRouteTable } from '../../services/hub/src/testing/memory-route-table.ts';

const env = process.env;
const config = loadConfig({
  BERTH_DATABASE_URL: env.BENCH_DATABASE_URL ?? '',
  BERTH_PUBLIC_URL: 'http://127.0.0.1',
  CONFIGPROXY_AUTH_TOKEN: 'unused-by-the-memory-route-table',
  BERTH_HUB_HOST: '127.0.0.1',
  BERTH_HUB_PORT: '0',
  BERTH_INTERNAL_TLS: '0',
  BERTH_HUB_API_URL: 'http://127.0.0.1/hub/api',
  BERTH_PROXY_API_URL: 'http://127.0.0.1:1',
  BERTH_LOG_LEVEL: 'silent',
  // The default profile's image must be pinned; nothing is spawned here.
  BERTH_SINGLEUSER_IMAGE: `sha256:${'0'.repeat(63)}1`,
});
const hub = await createHub(config, {
  spawner: new ListeningSpawner(),
  routes: new MemoryRouteTable(),
  cookieSecret: 'b'.repeat(64),
  log: pino({ level: 'silent' }),
});
const tokens: [string, boolean, string | undefined][] = [
  ['bench-admin', true, env.BENCH_ADMIN_TOKEN],
  ['alice', false, env.BENCH_USER_TOKEN],
];
for (const [name, admin, token] of tokens) {
  const user =
    (await hub.ctx.users.create(name, { admin, passwordHash: null })) ?? (await hub.ctx.users.byName(name));
  if (!user || !token) throw new Error(`cannot seed ${name}`);
  await hub.ctx.tokens.insert({
    userId: user.id,
    hash: hashToken(token),
    prefix: token.slice(0, 4),
    kind: 'api',
    scopes: ['inherit'],
    note: 'bench',
    expiresAt: null,
  });
}
const address = await hub.app.listen({ host: '127.0.0.1', port: Number(env.BENCH_PORT ?? 0) });
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port) })}\n`);
const stop = () => {
  void hub.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

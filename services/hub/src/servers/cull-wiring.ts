/** Builds the idle culler from the hub's parts: running servers from the database, stops through the lifecycle. */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { ServersRepo } from '../db/servers-repo.ts';
import type { TokensRepo } from '../db/tokens-repo.ts';
import type { UsersRepo } from '../db/users-repo.ts';
import { type CullCandidate, IdleCuller } from './culler.ts';
import type { ServerManager } from './manager.ts';
import { HttpServerProbe, type ServerProbe } from './server-probe.ts';

export function buildCuller(deps: {
  config: Config;
  servers: ServersRepo;
  users: UsersRepo;
  tokens: TokensRepo;
  lifecycle: ServerManager;
  log: Logger;
  /** Replaces the HTTP probe (tests; internal TLS passes a probe with its client certificate). */
  probe?: ServerProbe;
  /** How the probe reaches servers; internal TLS passes a fetch with the hub's client certificate. */
  serverFetch?: typeof fetch;
  /** The culler's clock (tests look at a server "two hours later"). */
  now?: () => Date;
}): IdleCuller {
  const http = new HttpServerProbe({
    tokens: deps.tokens,
    timeoutMs: deps.config.spawner.httpTimeoutMs,
    ...(deps.serverFetch ? { fetch: deps.serverFetch } : {}),
  });
  const probe = deps.probe ?? http;
  return new IdleCuller({
    probe,
    config: { ...deps.config.culling },
    log: deps.log,
    ...(deps.now ? { now: deps.now } : {}),
    async candidates(): Promise<CullCandidate[]> {
      const rows = (await deps.servers.all()).filter((r) => r.state === 'running');
      const users = new Map<number, CullCandidate['user']>();
      for (const id of new Set(rows.map((r) => r.user_id))) {
        const u = await deps.users.byId(id);
        if (u) users.set(id, { id: u.id, name: u.name, admin: u.admin });
      }
      return rows.flatMap((server) => {
        const user = users.get(server.user_id);
        return user ? [{ user, server }] : [];
      });
    },
    async stop(user, serverName) {
      const row = await deps.users.byId(user.id);
      const server = await deps.servers.find(user.id, serverName);
      if (!row || server?.state !== 'running') return;
      http.forget(server.id);
      await deps.lifecycle.stop(row, serverName);
    },
  });
}

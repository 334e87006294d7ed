/**
 * Spawn benchmark: hub-driven spawn-to-ready against a raw `docker run` of the same image, in the same run.
 *
 * - hub: `POST /hub/api/users/{name}/server` to a real hub (real Postgres, the Docker spawner with every
 *   hardening setting, token and OAuth client, readiness check, route), answered 201 once the server is ready.
 * - raw: create + start a plain container of the same image with the same command (the image's own,
 *   jupyterhub-singleuser) and the same environment, then poll its `/user/<name>/api` every 50 ms until the
 *   first 200.
 *
 *   node bench/spawn/run.ts            # 5 single spawns each, then 20 concurrent hub spawns vs 20 raw runs
 *   node bench/spawn/run.ts --short    # CI: 1 single spawn each, 3 concurrent
 *   node bench/spawn/run.ts --compose  # the hub of the whole compose stack, as deployed (below)
 *   options: --rounds N  --concurrent N  --concurrent-rounds N  --json FILE
 *
 * With --compose the hub side is the compose stack's hub as production runs it: through the Docker API guard,
 * with internal TLS (a certificate per server) and a network per server, the request going through Caddy and the
 * proxy; a start is timed from the REST call until the user model says the server is ready (polled every 50 ms,
 * as the raw side is). Needs the kit's images (`npm run images:offline`).
 *
 * The machine is shared, so compare the ratios of one run, not absolute numbers across runs.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type Dockerode from 'dockerode';
import { singleUserEnv } from '../../services/hub/src/servers/env.ts';
import { type DockerHub, startDockerHub } from '../../services/hub/src/testing/docker-hub.ts';
import { composeSide } from './compose-side.ts';

const { values: args } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    concurrent: { type: 'string' },
    'concurrent-rounds': { type: 'string' },
    json: { type: 'string' },
    compose: { type: 'boolean', default: false },
  },
});
const short = args.short === true;
const rounds = Number(args.rounds ?? (short ? 1 : 5));
const concurrent = Number(args.concurrent ?? (short ? 3 : 20));
const concurrentRounds = Number(args['concurrent-rounds'] ?? (short ? 1 : 2));
const READY_TIMEOUT_MS = 180_000;

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Outcome {
  readonly ok: boolean;
  readonly ms: number;
  /** Of `ms`, the time until the engine had started the container (the rest is the server booting, and noticing). */
  readonly toStartMs?: number;
  readonly error?: string;
}

/** What is measured: hub starts and stops, and raw runs of the same image on the same engine. */
export interface Side {
  readonly docker: Dockerode;
  /** Creates the users (names are plain, e.g. u1). */
  addUsers(names: readonly string[]): Promise<void>;
  hubSpawn(name: string): Promise<Outcome>;
  hubStop(name: string): Promise<void>;
  /** Where raw runs go: their name prefix, labels, network, image and environment. */
  readonly raw: RawTarget;
  close(): Promise<void>;
}

export interface RawTarget {
  readonly prefix: string;
  readonly labels: Record<string, string>;
  readonly network: string;
  readonly imageId: string;
  env(name: string): Record<string, string>;
}

/** When the engine started the container, as ms since the epoch. */
async function startedAt(c: Dockerode.Container): Promise<number | undefined> {
  const info = await c.inspect().catch(() => undefined);
  const t = info ? Date.parse(info.State.StartedAt) : Number.NaN;
  return Number.isFinite(t) ? t : undefined;
}

/** The in-process hub of `testing/docker-hub.ts` (no internal TLS, one shared network). */
async function dockerHubSide(): Promise<Side> {
  const dh: DockerHub = await startDockerHub({
    slowSpawnMs: READY_TIMEOUT_MS,
    env: {
      BERTH_CULL_IDLE_TIMEOUT_SECONDS: '0',
      BERTH_CONCURRENT_SPAWN_LIMIT: '0',
      BERTH_START_TIMEOUT_SECONDS: String(READY_TIMEOUT_MS / 1000),
    },
  });
  const { token: adminToken } = await dh.addUser('bench-admin', true);
  const cfg = dh.hub.ctx.config;
  return {
    docker: dh.docker,
    async addUsers(names) {
      for (const n of names) await dh.addUser(n);
    },
    // The REST call answers 201 when the hub has found the server ready and routed it.
    async hubSpawn(name) {
      const wall0 = Date.now();
      const t0 = performance.now();
      const res = await fetch(`${dh.base}/hub/api/users/${name}/server`, {
        method: 'POST',
        headers: { authorization: `token ${adminToken}` },
      });
      const ms = performance.now() - t0;
      const body = await res.text();
      if (res.status !== 201) return { ok: false, ms, error: `${res.status} ${body.slice(0, 200)}` };
      const started = await startedAt(dh.docker.getContainer(`${dh.ns.prefix}-${name}`));
      return started === undefined ? { ok: true, ms } : { ok: true, ms, toStartMs: started - wall0 };
    },
    async hubStop(name) {
      const user = await dh.hub.ctx.users.byName(name);
      if (user) await dh.hub.ctx.lifecycle.stop(user, '');
    },
    raw: {
      prefix: dh.ns.prefix,
      labels: { 'org.berth.deployment': dh.ns.deploymentId, 'org.berth.bench': 'raw' },
      network: dh.network,
      imageId: dh.imageId,
      env: (name) =>
        singleUserEnv({
          user: name,
          serverName: '',
          token: 'raw-run-token-unknown-to-the-hub',
          hubApiUrl: cfg.hubApiUrlForServers,
          publicUrl: cfg.publicUrl,
          port: 8888,
          image: dh.imageId,
          defaultUrl: cfg.spawner.defaultUrl,
          adminEnv: {},
        }),
    },
    close: () => dh.close(),
  };
}

/** One raw run: a plain container of the same image, command and environment, polled to its first 200. */
async function rawRun(side: Side, name: string): Promise<Outcome & { container?: Dockerode.Container }> {
  const env = side.raw.env(name);
  const wall0 = Date.now();
  const t0 = performance.now();
  let container: Dockerode.Container | undefined;
  try {
    container = await side.docker.createContainer({
      name: `${side.raw.prefix}-raw-${name}`,
      Image: side.raw.imageId,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: side.raw.labels,
      HostConfig: { NetworkMode: side.raw.network },
    });
    await container.start();
    const info = await container.inspect();
    const ip = info.NetworkSettings.Networks[side.raw.network]?.IPAddress;
    const url = `http://${ip}:8888/user/${name}/api`;
    while (performance.now() - t0 < READY_TIMEOUT_MS) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        await res.body?.cancel();
        if (res.status === 200) {
          const ms = performance.now() - t0;
          const started = await startedAt(container);
          return { ok: true, ms, container, ...(started ? { toStartMs: started - wall0 } : {}) };
        }
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    return { ok: false, ms: performance.now() - t0, error: 'no 200 before the timeout', container };
  } catch (err) {
    return { ok: false, ms: performance.now() - t0, error: String(err), ...(container ? { container } : {}) };
  }
}

async function rawRemove(o: { container?: Dockerode.Container }): Promise<void> {
  await o.container?.remove({ force: true }).catch(() => undefined);
}

async function main(): Promise<void> {
  const side = args.compose ? await composeSide(READY_TIMEOUT_MS) : await dockerHubSide();
  const results: Record<string, unknown> = {
    short,
    rounds,
    concurrent,
    concurrentRounds,
    compose: args.compose,
  };
  try {
    const users = Array.from({ length: Math.max(rounds, concurrent) + 1 }, (_, i) => `u${i}`);
    await side.addUsers(users);

    // Warm-up (page cache, Python imports), one of each, not counted.
    const warmHub = await side.hubSpawn(users[0] as string);
    await side.hubStop(users[0] as string);
    const warmRaw = await rawRun(side, 'warm');
    await rawRemove(warmRaw);
    if (!warmHub.ok || !warmRaw.ok)
      throw new Error(`warm-up failed: ${warmHub.error ?? ''} ${warmRaw.error ?? ''}`);

    // Single spawns, alternating which goes first.
    const hubMs: number[] = [];
    const rawMs: number[] = [];
    const hubStart: number[] = [];
    const rawStart: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const name = users[r + 1] as string;
      const doHub = async () => {
        const o = await side.hubSpawn(name);
        await side.hubStop(name);
        if (!o.ok) throw new Error(`hub spawn failed: ${o.error}`);
        hubMs.push(o.ms);
        if (o.toStartMs !== undefined) hubStart.push(o.toStartMs);
      };
      const doRaw = async () => {
        const o = await rawRun(side, `raw${r}`);
        await rawRemove(o);
        if (!o.ok) throw new Error(`raw run failed: ${o.error}`);
        rawMs.push(o.ms);
        if (o.toStartMs !== undefined) rawStart.push(o.toStartMs);
      };
      if (r % 2 === 0) {
        await doHub();
        await doRaw();
      } else {
        await doRaw();
        await doHub();
      }
    }
    const single = {
      hub: median(hubMs),
      raw: median(rawMs),
      hubAll: hubMs,
      rawAll: rawMs,
      hubToStart: hubStart.length ? median(hubStart) : null,
      rawToStart: rawStart.length ? median(rawStart) : null,
    };
    results.single = single;
    console.log(
      `single spawn-to-ready (median of ${rounds}): hub ${secs(single.hub)}, raw docker run ${secs(single.raw)}`,
    );
    console.log(`ratio single hub/raw ${(single.hub / single.raw).toFixed(2)}× (target ≤ 1.15×)`);
    if (single.hubToStart !== null && single.rawToStart !== null) {
      console.log(
        `  of which until the container started: hub ${secs(single.hubToStart)}, raw ${secs(single.rawToStart)}; ` +
          `then until ready: hub ${secs(single.hub - single.hubToStart)}, raw ${secs(single.raw - single.rawToStart)}`,
      );
    }

    // Concurrent: N hub spawns at once, and N raw runs at once; wall time until the last is ready. The order
    // alternates between rounds, so neither side always meets the machine's other load first.
    const names = users.slice(1, concurrent + 1);
    const hubWalls: number[] = [];
    const rawWalls: number[] = [];
    const failures: string[] = [];
    const each: { hub: number[]; raw: number[] } = { hub: [], raw: [] };
    const hubBatch = async () => {
      const t0 = performance.now();
      const out = await Promise.all(names.map((n) => side.hubSpawn(n)));
      hubWalls.push(performance.now() - t0);
      await Promise.all(names.map((n) => side.hubStop(n)));
      for (const o of out) {
        if (o.ok) each.hub.push(o.ms);
        else failures.push(`hub: ${o.error}`);
      }
    };
    const rawBatch = async (round: number) => {
      const t0 = performance.now();
      const out = await Promise.all(names.map((n, i) => rawRun(side, `rawc${round}-${i}-${n}`)));
      rawWalls.push(performance.now() - t0);
      await Promise.all(out.map(rawRemove));
      for (const o of out) {
        if (o.ok) each.raw.push(o.ms);
        else failures.push(`raw: ${o.error}`);
      }
    };
    for (let r = 0; r < concurrentRounds; r++) {
      if (r % 2 === 0) {
        await hubBatch();
        await rawBatch(r);
      } else {
        await rawBatch(r);
        await hubBatch();
      }
    }
    const hubFailures = failures.filter((f) => f.startsWith('hub')).length;
    const rawFailures = failures.length - hubFailures;
    const hubWall = median(hubWalls);
    const rawWall = median(rawWalls);
    results.concurrent = {
      hub: hubWall,
      raw: rawWall,
      hubWalls,
      rawWalls,
      hubFailures,
      rawFailures,
      hubEach: each.hub,
      rawEach: each.raw,
    };
    console.log(
      `${concurrent} concurrent (median of ${concurrentRounds}): hub ${secs(hubWall)} (${hubFailures} failures), ` +
        `raw docker run ${secs(rawWall)} (${rawFailures} failures)`,
    );
    for (const f of failures) console.log(`  failure: ${f}`);
    console.log(`ratio concurrent hub/raw ${(hubWall / rawWall).toFixed(2)}× (target ≤ 1.30×)`);
    if (args.json) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
    console.log('done');
  } finally {
    await side.close();
  }
}

await main();

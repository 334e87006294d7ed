/**
 * Berth's hub REST API side by side with JupyterHub 6.1 (from PyPI, in berth/pytools), in one run, on the same
 * machine, with the same load generator (autocannon). Prints each measurement and the ratios Berth/JupyterHub:
 *
 *   GET /hub/api/user with a user's token                 (target: Berth ≥ 5× JupyterHub's requests/s)
 *   GET /hub/api/users?limit=200 with 10,000 users, admin  (target: ≥ 20×)
 *   the hub's RSS with 10,000 users                        (target: Berth ≤ 120 MB)
 *
 *   node bench/api/run.ts            # full: 10,000 users, 10 s per case, 3 rounds
 *   node bench/api/run.ts --short    # CI: 500 users, 1 s per case, 1 round
 *   options: --users N  --seconds N  --rounds N  --connections N  --json FILE
 *
 * Berth runs on Postgres (its only database); JupyterHub on SQLite, its default. Every process shares the
 * machine, so compare the ratios of one run, not absolute numbers across runs.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { type Hub, seedUsers, startBerth, startJupyterHub } from './hubs.ts';

const { values: args } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    users: { type: 'string' },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    connections: { type: 'string' },
    json: { type: 'string' },
  },
});
const short = args.short === true;
const nUsers = Number(args.users ?? (short ? 500 : 10_000));
const seconds = Number(args.seconds ?? (short ? 1 : 10));
const rounds = Number(args.rounds ?? (short ? 1 : 3));
const connections = Number(args.connections ?? 10);

const line = (text: string) => process.stdout.write(`${text}\n`);
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });
const mb = (bytes: number) => bytes / 1024 / 1024;
const ratio = (a: number, b: number) => (b > 0 ? a / b : Number.NaN);
const verdict = (ok: boolean, target: string) => `${ok ? 'met' : 'NOT met'} (target ${target})`;

interface Load {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  /** The hub process's CPU time per completed request (without its database's). */
  readonly cpuMsPerReq: number;
}

async function load(hub: Hub, url: string, token: string, secs: number): Promise<Load> {
  const cpu0 = hub.cpuMs();
  const r = await autocannon({
    url,
    connections,
    duration: secs,
    headers: { authorization: `token ${token}` },
  });
  return {
    // completed requests over the run (a per-second average reads 0 when every request takes over a second)
    rps: r.requests.total / Math.max(r.duration, 0.001),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx,
    cpuMsPerReq: (hub.cpuMs() - cpu0) / Math.max(r.requests.total, 1),
  };
}

/** Each hub `rounds` times, alternating which goes first, after a warm-up; the median round by rps. */
async function measure(hubs: readonly Hub[], path: string, token: (h: Hub) => string) {
  for (const h of hubs) await load(h, `${h.api}${path}`, token(h), short ? 0.5 : 2);
  const all = new Map<string, Load[]>(hubs.map((h) => [h.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < hubs.length; i++) {
      const h = hubs[(i + round) % hubs.length] as Hub;
      all.get(h.name)?.push(await load(h, `${h.api}${path}`, token(h), seconds));
    }
  }
  const out: Record<string, Load> = {};
  for (const [name, rs] of all) {
    const sorted = [...rs].sort((a, b) => a.rps - b.rps);
    out[name] = sorted[Math.floor((sorted.length - 1) / 2)] as Load;
  }
  return out;
}

function report(title: string, r: Record<string, Load>) {
  line(`\n${title}`);
  for (const [name, l] of Object.entries(r)) {
    line(
      `  ${name.padEnd(10)} ${fmt(l.rps).padStart(8)} req/s   p50 ${fmt(l.p50Ms, 1)} ms   p99 ${fmt(l.p99Ms, 1)} ms   CPU ${fmt(l.cpuMsPerReq, 2)} ms/req   errors ${l.errors}`,
    );
  }
}

line(
  `Berth hub API vs JupyterHub 6.1: ${fmt(nUsers)} users, ${connections} connections, ${seconds} s x ${rounds} round(s)`,
);
const load0 = loadavg()[0] ?? 0;
line(
  `machine: ${availableParallelism()} CPUs, load average ${load0.toFixed(1)} at the start (other work skews every number)`,
);
const results: Record<string, unknown> = {
  short,
  users: nUsers,
  seconds,
  rounds,
  connections,
  cpus: availableParallelism(),
  loadStart: load0,
};
const hubs: Hub[] = [];
try {
  hubs.push(await startBerth());
  hubs.push(await startJupyterHub());
  const [berth, jh] = hubs as [Hub, Hub];
  results.rssIdle = { berth: berth.rss(), jupyterhub: jh.rss() };

  const me = await measure(hubs, '/user', (h) => h.userToken);
  report('GET /hub/api/user (a user token)', me);
  const meRatio = ratio(me.berth?.rps ?? 0, me.jupyterhub?.rps ?? 0);
  line(`ratio user rps Berth/JupyterHub ${meRatio.toFixed(2)}× ${verdict(meRatio >= 5, '≥ 5×')}`);

  const seeded: Record<string, number> = {};
  for (const h of hubs) seeded[h.name] = await seedUsers(h, nUsers);
  line(
    `\nseed ${fmt(nUsers)} users: Berth ${seeded.berth?.toFixed(2)} s (POST /hub/api/users, 1000 per request), JupyterHub ${seeded.jupyterhub?.toFixed(2)} s (through its ORM: its API creates ~10 users/s)`,
  );

  const list = await measure(hubs, '/users?limit=200', (h) => h.adminToken);
  report(`GET /hub/api/users?limit=200 (admin token, ${fmt(nUsers)} users)`, list);
  const listRatio = ratio(list.berth?.rps ?? 0, list.jupyterhub?.rps ?? 0);
  line(`ratio users list rps Berth/JupyterHub ${listRatio.toFixed(2)}× ${verdict(listRatio >= 20, '≥ 20×')}`);

  const rss = { berth: berth.rss(), jupyterhub: jh.rss() };
  line(
    `\nhub RSS with ${fmt(nUsers)} users, after the runs: Berth ${fmt(mb(rss.berth), 1)} MB, JupyterHub ${fmt(mb(rss.jupyterhub), 1)} MB`,
  );
  line(`ratio RSS Berth/JupyterHub ${ratio(rss.berth, rss.jupyterhub).toFixed(2)}×`);
  line(`Berth RSS ${fmt(mb(rss.berth), 1)} MB ${verdict(mb(rss.berth) <= 120, '≤ 120 MB')}`);
  Object.assign(results, {
    user: me,
    usersList: list,
    seedSeconds: seeded,
    rss,
    ratios: { user: meRatio, usersList: listRatio },
  });
  results.loadEnd = loadavg()[0];
  line(`load average ${(loadavg()[0] ?? 0).toFixed(1)} at the end`);
  if (args.json) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
  line('done');
} finally {
  await Promise.all(hubs.map((h) => h.stop()));
}

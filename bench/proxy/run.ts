/**
 * Berth's proxy side by side with configurable-http-proxy 5.x, in one run, against the same trivial backend, with
 * direct access to the backend as the limit. Prints each measurement and the ratios Berth/CHP.
 *
 *   node bench/proxy/run.ts            # full: 10 s per HTTP case, 10k and 100k routes, a 5-minute soak
 *   node bench/proxy/run.ts --short    # CI: about a second per case, smaller route tables, a 3 s soak
 *   options: --seconds N  --rounds N  --soak-seconds N  --soak-chp (soak CHP too)  --json FILE (write the results)
 *            --workers N (Berth's BERTH_PROXY_WORKERS; default 1)
 *            --only small,big,ws,routes,soak (run only these cases; default all)
 *
 * Every process (backend, each proxy, this load generator) shares the machine, so numbers move with its load:
 * compare the ratios of one run, not absolute numbers across runs.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { http, wsRoundTrips, wsSoak } from './load.ts';
import { addRoutes, apiCall, closeApiAgent, type Proc, startBackend, startBerth, startChp } from './procs.ts';

const { values: args } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    'soak-seconds': { type: 'string' },
    'soak-chp': { type: 'boolean', default: false },
    json: { type: 'string' },
    workers: { type: 'string' },
    only: { type: 'string' },
  },
});
const short = args.short === true;
const seconds = Number(args.seconds ?? (short ? 1 : 5));
const rounds = Number(args.rounds ?? (short ? 1 : 3));
const warm = short ? 0.5 : 1;
const soakSeconds = Number(args['soak-seconds'] ?? (short ? 3 : 300));
const routeLevels = short ? [1, 10_000, 20_000] : [1, 10_000, 100_000];
const workers = Number(args.workers ?? 1);
const CASES = ['small', 'big', 'ws', 'routes', 'soak'] as const;
const only = args.only?.split(',').map((c) => c.trim());
const unknownCase = only?.find((c) => !(CASES as readonly string[]).includes(c));
if (unknownCase !== undefined) {
  process.stderr.write(`--only: unknown case ${unknownCase} (cases: ${CASES.join(', ')})\n`);
  process.exit(2);
}
const wanted = (c: (typeof CASES)[number]) => only === undefined || only.includes(c);

const results: Record<string, unknown> = { short, seconds, rounds, soakSeconds, routeLevels, workers };
const loads: number[][] = [];
results.loadAverages = loads;
/** The machine's 1/5/15-minute load average now: every process here competes with whatever else runs. */
function load(when: string): void {
  const avg = loadavg().map((n) => Number(n.toFixed(1)));
  loads.push(avg);
  line(`load average ${avg.join(' ')} on ${availableParallelism()} cores (${when})`);
}

/**
 * Measure every target `rounds` times, in a rotated order each round so that none always runs first or last, after
 * one warm-up each, and keep each target's median round by `key`. The machine is shared: this evens out its noise.
 */
async function measure<R>(
  names: readonly string[],
  run: (name: string, secs: number) => Promise<R>,
  key: (r: R) => number,
): Promise<Record<string, R>> {
  const all = new Map<string, R[]>(names.map((n) => [n, []]));
  for (const name of names) await run(name, warm);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length] as string;
      all.get(name)?.push(await run(name, seconds));
    }
  }
  const out: Record<string, R> = {};
  for (const [name, rs] of all) {
    const sorted = [...rs].sort((a, b) => key(a) - key(b));
    out[name] = sorted[Math.floor((sorted.length - 1) / 2)] as R;
  }
  return out;
}
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });
const ratio = (a: number, b: number) => (b > 0 ? a / b : Number.NaN);
const x = (r: number) => `${r.toFixed(2)}×`;
function line(text: string): void {
  process.stdout.write(`${text}\n`);
}
function verdict(ok: boolean, target: string): string {
  return `${ok ? 'met' : 'NOT met'} (target ${target})`;
}

const backend = await startBackend();
let berth = await startBerth(workers);
let chp = await startChp();
const cleanup = async () => {
  closeApiAgent();
  await Promise.all([berth.stop(), chp.stop(), backend.stop()]);
};

try {
  for (const p of [berth, chp]) await apiCall(p, 'POST', '/api/routes/user/bench', { target: backend.url });
  const bases: Record<string, string> = { direct: backend.url, berth: berth.url, chp: chp.url };
  const names = Object.keys(bases);
  const base = (name: string) => bases[name] ?? '';
  line(
    `berth-proxy (${workers} worker${workers > 1 ? 's' : ''}) vs configurable-http-proxy 5.x` +
      `${short ? ' (short mode: numbers are indicative only)' : ''}`,
  );
  load('start');

  if (wanted('small')) {
    // 1. Small responses, 50 connections.
    // Also the proxy's own CPU time per request: less sensitive than rps to what else runs on the machine.
    const procs: Record<string, Proc> = { direct: backend, berth, chp };
    const small = await measure(
      names,
      async (n, secs) => {
        const cpuBefore = procs[n]?.cpu() ?? 0;
        const r = await http(`${base(n)}/user/bench/small`, 50, secs);
        const cpuMs = ((procs[n]?.cpu() ?? 0) - cpuBefore) * 1000;
        return { ...r, cpuMsPerRequest: r.requests > 0 ? cpuMs / r.requests : Number.NaN };
      },
      (r) => r.rps,
    );
    for (const [name, r] of Object.entries(small)) {
      const who = name === 'direct' ? 'backend' : 'proxy';
      line(
        `small 50c   ${name.padEnd(6)} ${fmt(r.rps).padStart(8)} rps  p99 ${fmt(r.p99Ms, 1)} ms  errors ${r.errors}  ` +
          `${who} CPU ${r.cpuMsPerRequest.toFixed(3)} ms/request`,
      );
    }
    const smallRps = ratio(small.berth?.rps ?? 0, small.chp?.rps ?? 0);
    const smallP99 = ratio(small.berth?.p99Ms ?? 0, small.chp?.p99Ms ?? 0);
    line(`ratio small rps Berth/CHP ${x(smallRps)}: ${verdict(smallRps >= 2, '≥ 2.0×')}`);
    line(`ratio small p99 Berth/CHP ${x(smallP99)}: ${verdict(smallP99 <= 0.5, '≤ 0.5×')}`);
    const smallCpu = ratio(small.berth?.cpuMsPerRequest ?? 0, small.chp?.cpuMsPerRequest ?? 0);
    line(`ratio small proxy CPU per request Berth/CHP ${x(smallCpu)} (lower is better)`);
    line(`ratio small rps Berth/direct ${x(ratio(small.berth?.rps ?? 0, small.direct?.rps ?? 0))}`);
    results.small = small;
    load('after small');
  }
  if (wanted('big')) {
    // 2. 1 MiB responses, 10 connections.
    const big = await measure(
      names,
      (n, secs) => http(`${base(n)}/user/bench/big`, 10, secs),
      (r) => r.rps,
    );
    for (const [name, r] of Object.entries(big)) {
      const mib = r.bytesPerSec / 1024 / 1024;
      line(
        `1MiB 10c    ${name.padEnd(6)} ${fmt(r.rps).padStart(8)} rps  ${fmt(mib)} MiB/s  p99 ${fmt(r.p99Ms, 1)} ms`,
      );
    }
    const bigRps = ratio(big.berth?.rps ?? 0, big.chp?.rps ?? 0);
    line(`ratio 1MiB rps Berth/CHP ${x(bigRps)}: ${verdict(bigRps >= 1.3, '≥ 1.3×')}`);
    results.big = big;
    load('after big');
  }
  if (wanted('ws')) {
    // 3. WebSocket round trips, 20 connections, one message in flight on each.
    const ws = await measure(
      names,
      (n, secs) => wsRoundTrips(`${base(n).replace('http', 'ws')}/user/bench/ws`, 20, secs),
      (r) => r.roundTripsPerSec,
    );
    for (const [name, r] of Object.entries(ws)) {
      line(
        `ws 20c      ${name.padEnd(6)} ${fmt(r.roundTripsPerSec).padStart(8)} round trips/s  errors ${r.errors}`,
      );
    }
    const wsRatio = ratio(ws.berth?.roundTripsPerSec ?? 0, ws.chp?.roundTripsPerSec ?? 0);
    line(`ratio ws round trips Berth/CHP ${x(wsRatio)}: ${verdict(wsRatio >= 1.1, '≥ 1.1×')}`);
    results.ws = ws;
    load('after ws');
  }
  if (wanted('routes')) {
    // 4. Throughput as the route table grows, and the time to register routes through the API.
    type Row = { routes: number; rps: number; p99Ms: number; registerSeconds: number };
    const routes: Record<string, Row[]> = { berth: [], chp: [] };
    let have = 1;
    for (const level of routeLevels) {
      const registered: Record<string, number> = { berth: 0, chp: 0 };
      if (level > have) {
        for (const p of [berth, chp])
          registered[p.name] = await addRoutes(p, have, level - have, backend.url);
      }
      const at = await measure(
        ['berth', 'chp'],
        (n, secs) => http(`${base(n)}/user/bench/small`, 50, secs),
        (r) => r.rps,
      );
      for (const name of ['berth', 'chp']) {
        const r = at[name];
        const secs = registered[name] ?? 0;
        routes[name]?.push({ routes: level, rps: r?.rps ?? 0, p99Ms: r?.p99Ms ?? 0, registerSeconds: secs });
        const reg = secs ? `  (registered ${fmt(level - have)} in ${secs.toFixed(2)} s)` : '';
        line(
          `routes      ${name.padEnd(6)} ${fmt(level).padStart(7)} routes ${fmt(r?.rps ?? 0).padStart(8)} rps  ` +
            `p99 ${fmt(r?.p99Ms ?? 0, 1)} ms${reg}`,
        );
      }
      have = Math.max(have, level);
    }
    const tenK = routeLevels[1] ?? 0;
    for (const name of ['berth', 'chp']) {
      const rows = routes[name] ?? [];
      const first = rows[0]?.rps ?? 0;
      const last = rows.at(-1)?.rps ?? 0;
      const drop = 1 - ratio(last, first);
      line(
        `ratio ${name} rps at ${fmt(rows.at(-1)?.routes ?? 0)} routes / at 1 route ${x(ratio(last, first))} ` +
          `(drop ${(drop * 100).toFixed(1)}%)${name === 'berth' ? `: ${verdict(drop <= 0.05, 'drop ≤ 5%')}` : ''}`,
      );
    }
    const regBerth = routes.berth?.[1]?.registerSeconds ?? 0;
    const regChp = routes.chp?.[1]?.registerSeconds ?? 0;
    line(
      `register ${fmt(tenK)} routes: Berth ${regBerth.toFixed(2)} s, CHP ${regChp.toFixed(2)} s, ratio Berth/CHP time ` +
        `${x(ratio(regBerth, regChp))}: ${verdict(regBerth < 10, '10k in < 10 s')}`,
    );
    for (const level of routeLevels) {
      const b = routes.berth?.find((r) => r.routes === level)?.rps ?? 0;
      const c = routes.chp?.find((r) => r.routes === level)?.rps ?? 0;
      line(`ratio rps Berth/CHP at ${fmt(level)} routes ${x(ratio(b, c))}`);
    }
    results.routes = routes;
    load('after routes');
  }
  if (wanted('soak')) {
    // 5. WebSocket soak on fresh proxies: 200 connections, a message every 100 ms on each.
    await Promise.all([berth.stop(), chp.stop()]);
    berth = await startBerth(workers);
    chp = await startChp();
    const soak: Record<string, unknown> = {};
    for (const p of args['soak-chp'] ? [berth, chp] : [berth]) {
      await apiCall(p, 'POST', '/api/routes/user/bench', { target: backend.url });
      const r = await wsSoak(`${p.url.replace('http', 'ws')}/user/bench/ws`, p, 200, soakSeconds);
      const firstRss = r.rss[0] ?? 0;
      const maxRss = Math.max(...r.rss);
      const lastRss = r.rss.at(-1) ?? 0;
      const growth = ratio(maxRss, firstRss) - 1;
      const leaked = r.fdsAfter - r.fdsBefore;
      line(
        `soak 200c   ${p.name.padEnd(6)} ${soakSeconds} s  ${fmt(r.messages)} echoes  errors ${r.errors}  RSS ` +
          `${fmt(firstRss / 2 ** 20, 1)} → ${fmt(lastRss / 2 ** 20, 1)} MiB (max +${(growth * 100).toFixed(1)}%)  ` +
          `fds ${r.fdsBefore} → ${r.fdsAfter}`,
      );
      line(
        `ratio ${p.name} soak RSS max/first ${x(ratio(maxRss, firstRss))}: ` +
          `${verdict(growth <= 0.1 && r.errors === 0 && leaked <= 0, 'RSS within 10%, 0 errors, no leaked sockets')}`,
      );
      soak[p.name] = { ...r, growth, leaked };
    }
    results.soak = soak;
    load('after soak');
  }
  if (args.json) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
  line('done');
} finally {
  await cleanup();
}

/**
 * Swarm benchmark: the Swarm spawner's start-to-running against the Docker spawner's, for the same image, in the
 * same run. The swarm is Docker-in-Docker on this machine (test/support/swarm.ts); the Docker spawner runs on the
 * swarm manager's own engine, so both sides pay the same nesting and the ratio is Swarm's own cost. Compare the
 * ratio of one run, not numbers across runs.
 *
 * - docker: DockerSpawner.start() on the manager's engine (a plain internal bridge network there) until the
 *   container runs (through the early-exit window), then stop().
 * - swarm: SwarmSpawner.start() on the swarm's manager until the service's task runs (the same window), then
 *   stop(); the same hardening, image (by id) and limits.
 * - concurrent: N starts at once on each side: the swarm's spread over its nodes, the Docker spawner's on this
 *   machine's engine (one small DinD node cannot hold 50 at once). Wall time until the last runs.
 *
 *   node bench/swarm/run.ts            # 3 nodes, 5 single starts each, then 50 concurrent on each side
 *   node bench/swarm/run.ts --short    # CI: 1 node, 1 single start each, 3 concurrent
 *   options: --nodes N  --rounds N  --concurrent N  --json FILE
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Dockerode from 'dockerode';
import { DockerSpawner } from '../../services/hub/src/spawner/docker/docker-spawner.ts';
import type { Spawner, SpawnerState, SpawnRequest } from '../../services/hub/src/spawner/spawner.ts';
import { swarmClient } from '../../services/hub/src/spawner/swarm/client.ts';
import { SwarmSpawner } from '../../services/hub/src/spawner/swarm/swarm-spawner.ts';
import {
  buildTestImages,
  cleanup,
  createNetwork,
  TEST_IMAGES,
  testImageId,
  testNamespace,
} from '../../services/hub/src/spawner/testing/docker-test-env.ts';
import { startSwarm } from '../../test/support/swarm.ts';

const { values: args } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    nodes: { type: 'string' },
    rounds: { type: 'string' },
    concurrent: { type: 'string' },
    json: { type: 'string' },
  },
});
const short = args.short === true;
const nodes = Number(args.nodes ?? (short ? 1 : 3));
const rounds = Number(args.rounds ?? (short ? 1 : 5));
const concurrent = Number(args.concurrent ?? (short ? 3 : 50));

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const limits = { memoryBytes: 64 * 1024 ** 2, nanoCpus: 1e8, pids: 32 };

function request(user: string): SpawnRequest {
  return { user, serverName: '', image: testImageId('sleeper'), env: {}, port: 8888 };
}

/** One start, timed; the server is stopped afterwards (not timed). */
async function once(s: Spawner, user: string): Promise<number> {
  const t0 = performance.now();
  const { state } = await s.start(request(user));
  const ms = performance.now() - t0;
  await s.stop(state);
  return ms;
}

/** N starts at once: wall time until the last runs, and the failures. Everything started is stopped. */
async function batch(s: Spawner, prefix: string): Promise<{ ms: number; failures: string[] }> {
  const t0 = performance.now();
  const out = await Promise.allSettled(
    Array.from({ length: concurrent }, (_, i) => s.start(request(`${prefix}${i}`))),
  );
  const ms = performance.now() - t0;
  const states: SpawnerState[] = [];
  const failures: string[] = [];
  for (const o of out) {
    if (o.status === 'fulfilled') states.push(o.value.state);
    else failures.push(String((o.reason as Error)?.message ?? o.reason));
  }
  await Promise.all(states.map((st) => s.stop(st).catch(() => undefined)));
  return { ms, failures };
}

async function main(): Promise<void> {
  const host = new Dockerode();
  await buildTestImages(host);
  const ns = testNamespace();
  await createNetwork(host, ns);
  const swarm = await startSwarm({
    nodes,
    images: [TEST_IMAGES.sleeper.tag],
    memoryBytes: 768 * 1024 ** 2,
  });
  try {
    const network = `${ns.prefix}-users`;
    await swarm.manager.docker.createNetwork({ Name: network, Driver: 'overlay', Internal: true });
    await swarm.manager.docker.createNetwork({ Name: ns.network, Driver: 'bridge', Internal: true });
    const docker = new DockerSpawner({
      docker: swarm.manager.docker,
      network: ns.network,
      deploymentId: ns.deploymentId,
      prefix: ns.prefix,
      defaultLimits: limits,
      tmpfsSize: 1024 ** 2,
      stopTimeoutSeconds: 1,
    });
    const dockerHost = new DockerSpawner({
      docker: host,
      network: ns.network,
      deploymentId: ns.deploymentId,
      prefix: ns.prefix,
      defaultLimits: limits,
      tmpfsSize: 1024 ** 2,
      stopTimeoutSeconds: 1,
    });
    const swarmSpawner = new SwarmSpawner({
      swarm: swarmClient(swarm.manager.docker),
      network,
      deploymentId: ns.deploymentId,
      prefix: ns.prefix,
      defaultLimits: limits,
      tmpfsSize: 1024 ** 2,
      stopTimeoutSeconds: 1,
    });
    console.log(
      `swarm of ${nodes} Docker-in-Docker node(s), the Docker spawner on its manager; image ${TEST_IMAGES.sleeper.tag}`,
    );
    // Warm-up: the first start on an engine pays for things the rest do not; on Swarm, the first task on each
    // node also sets the overlay network up there (seconds), so one server per node, at once (spread).
    await once(docker, 'warm');
    const warm = await Promise.all(
      Array.from({ length: nodes }, (_, i) => swarmSpawner.start(request(`warm${i}`))),
    );
    await Promise.all(warm.map((w) => swarmSpawner.stop(w.state)));

    const dockerMs: number[] = [];
    const swarmMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      // Alternate which side goes first, so neither always meets the machine's other load first.
      if (r % 2 === 0) {
        dockerMs.push(await once(docker, `d${r}`));
        swarmMs.push(await once(swarmSpawner, `s${r}`));
      } else {
        swarmMs.push(await once(swarmSpawner, `s${r}`));
        dockerMs.push(await once(docker, `d${r}`));
      }
    }
    const single = {
      docker: median(dockerMs),
      swarm: median(swarmMs),
      dockerAll: dockerMs,
      swarmAll: swarmMs,
    };
    console.log(
      `single start-to-running (median of ${rounds}): docker ${secs(single.docker)}, swarm ${secs(single.swarm)}`,
    );
    console.log(`ratio single swarm/docker ${(single.swarm / single.docker).toFixed(2)}× (target ≤ 1.50×)`);

    const d = await batch(dockerHost, 'dc');
    const s = await batch(swarmSpawner, 'sc');
    console.log(
      `${concurrent} concurrent over ${nodes} node(s) (docker: this machine's engine): docker ${secs(d.ms)} (${d.failures.length} failures), ` +
        `swarm ${secs(s.ms)} (${s.failures.length} failures)`,
    );
    for (const f of [...d.failures.map((x) => `docker: ${x}`), ...s.failures.map((x) => `swarm: ${x}`)]) {
      console.log(`  failure: ${f}`);
    }
    console.log(`ratio concurrent swarm/docker ${(s.ms / d.ms).toFixed(2)}× (target: 0 failures)`);
    const results = {
      nodes,
      single,
      concurrent: {
        n: concurrent,
        docker: d.ms,
        swarm: s.ms,
        dockerFailures: d.failures.length,
        swarmFailures: s.failures.length,
      },
    };
    if (args.json) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
    console.log('done');
  } finally {
    await swarm.close();
    await cleanup(host, ns);
  }
}

await main();

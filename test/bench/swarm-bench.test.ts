import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../support/compose.ts';
import { run } from '../support/exec.ts';
import { swarmUnavailable } from '../support/swarm.ts';

const skip = await swarmUnavailable();

/**
 * The Swarm benchmark (the Swarm spawner on a Docker-in-Docker swarm vs the Docker spawner, same image) in its
 * short mode, so the script cannot rot. It asserts that both sides ran with no failed start and that both
 * ratios were printed, never a timing threshold: these machines are too noisy for that.
 */
describe('bench/swarm --short', { skip, timeout: 600_000 }, () => {
  it('starts on both spawners, alone and concurrently, and prints both ratios', async () => {
    const out = mkdtempSync(join(tmpdir(), 'berth-bench-swarm-'));
    try {
      const json = join(out, 'results.json');
      const r = await run(
        process.execPath,
        [join(REPO_ROOT, 'bench/swarm/run.ts'), '--short', '--json', json],
        {
          cwd: REPO_ROOT,
          timeoutMs: 540_000,
        },
      );
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /ratio single swarm\/docker \d+\.\d\d×/);
      assert.match(r.stdout, /ratio concurrent swarm\/docker \d+\.\d\d×/);
      assert.match(
        r.stdout,
        /3 concurrent over 1 node\(s\) \(docker: this machine's engine\): docker [\d.]+ s \(0 failures\), swarm [\d.]+ s \(0 failures\)/,
      );
      assert.match(r.stdout, /^done$/m);
      const results = JSON.parse(readFileSync(json, 'utf8')) as {
        single: { docker: number; swarm: number };
        concurrent: { docker: number; swarm: number; dockerFailures: number; swarmFailures: number };
      };
      for (const v of [
        results.single.docker,
        results.single.swarm,
        results.concurrent.docker,
        results.concurrent.swarm,
      ]) {
        assert.ok(Number.isFinite(v) && v > 0, String(v));
      }
      assert.equal(results.concurrent.dockerFailures + results.concurrent.swarmFailures, 0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

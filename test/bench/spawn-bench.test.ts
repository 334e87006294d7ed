import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Dockerode from 'dockerode';
import { REPO_ROOT } from '../support/compose.ts';
import { run } from '../support/exec.ts';

const IMAGE = process.env.BERTH_TEST_SINGLEUSER_IMAGE ?? 'berth/singleuser:lab';
const docker = new Dockerode();
const skip = await docker
  .getImage(IMAGE)
  .inspect()
  .then(
    () => false,
    (err: unknown) => `${IMAGE} is not available (${String(err)}): npm run images:offline`,
  );

/**
 * The spawn benchmark (hub-driven spawn vs a raw `docker run` of the same image) in its short mode, so the script
 * cannot rot. It asserts that the run completes with no failed spawn and prints both ratios, never a timing
 * threshold: these machines are too noisy for that.
 */
describe('bench/spawn --short', { skip, timeout: 900_000 }, () => {
  it('spawns through the hub and raw, alone and concurrently, and prints both ratios', async () => {
    const out = mkdtempSync(join(tmpdir(), 'berth-bench-spawn-'));
    try {
      const json = join(out, 'results.json');
      const r = await run(
        process.execPath,
        [join(REPO_ROOT, 'bench/spawn/run.ts'), '--short', '--json', json],
        {
          cwd: REPO_ROOT,
          env: { ...process.env, TESTCONTAINERS_RYUK_DISABLED: 'true' },
          timeoutMs: 840_000,
        },
      );
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /ratio single hub\/raw \d+\.\d\d×/);
      assert.match(r.stdout, /ratio concurrent hub\/raw \d+\.\d\d×/);
      assert.match(
        r.stdout,
        /\d+ concurrent \(median of \d+\): hub [\d.]+ s \(0 failures\), raw docker run [\d.]+ s \(0 failures\)/,
      );
      assert.match(r.stdout, /^done$/m);
      const results = JSON.parse(readFileSync(json, 'utf8')) as {
        single: { hub: number; raw: number };
        concurrent: { hub: number; raw: number; hubFailures: number; rawFailures: number };
      };
      for (const v of [
        results.single.hub,
        results.single.raw,
        results.concurrent.hub,
        results.concurrent.raw,
      ]) {
        assert.ok(Number.isFinite(v) && v > 0, String(v));
      }
      assert.equal(results.concurrent.hubFailures + results.concurrent.rawFailures, 0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

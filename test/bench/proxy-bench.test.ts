import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../support/compose.ts';
import { run } from '../support/exec.ts';

/**
 * The proxy benchmark (Berth vs configurable-http-proxy) in its short mode, so the script cannot rot. It asserts
 * that the run completes and prints every ratio, never a number: these machines are too noisy for thresholds.
 */
describe('bench/proxy --short', { timeout: 600_000 }, () => {
  it('runs every case against Berth, CHP and the backend and prints the ratios', async () => {
    const dir = join(REPO_ROOT, 'bench/proxy');
    if (!existsSync(join(dir, 'node_modules/configurable-http-proxy'))) {
      const ci = await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir });
      assert.equal(ci.code, 0, ci.stderr);
    }
    const out = mkdtempSync(join(tmpdir(), 'berth-bench-'));
    try {
      const json = join(out, 'results.json');
      const r = await run(process.execPath, [join(dir, 'run.ts'), '--short', '--json', json], {
        cwd: REPO_ROOT,
      });
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      for (const ratio of [
        /ratio small rps Berth\/CHP \d+\.\d\d×/,
        /ratio small p99 Berth\/CHP \d+\.\d\d×/,
        /ratio 1MiB rps Berth\/CHP \d+\.\d\d×/,
        /ratio ws round trips Berth\/CHP \d+\.\d\d×/,
        /ratio berth rps at [\d,]+ routes \/ at 1 route -?\d+\.\d\d×/,
        /register 10,000 routes: Berth \d+\.\d\d s, CHP \d+\.\d\d s/,
        /ratio berth soak RSS max\/first \d+\.\d\d×/,
      ]) {
        assert.match(r.stdout, ratio);
      }
      assert.match(r.stdout, /^load average [\d.]+ [\d.]+ [\d.]+ on \d+ cores \(start\)$/m);
      assert.match(r.stdout, /^done$/m);
      const results = JSON.parse(readFileSync(json, 'utf8')) as Record<
        string,
        Record<string, { rps?: number }>
      >;
      for (const name of ['direct', 'berth', 'chp']) assert.ok((results.small?.[name]?.rps ?? 0) > 0, name);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

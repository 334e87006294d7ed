import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../support/compose.ts';
import { run } from '../support/exec.ts';

/**
 * The hub API benchmark (Berth vs JupyterHub 6.1 from berth/pytools) in its short mode, so the script cannot rot.
 * It asserts that every case ran against both hubs and printed its ratio, never a number: these machines are too
 * noisy for thresholds (docs/benchmarks.md has the full run).
 */
describe('bench/api --short', { timeout: 900_000 }, () => {
  it('measures both hubs on every case and prints the ratios', async () => {
    const dir = join(REPO_ROOT, 'bench/api');
    if (!existsSync(join(dir, 'node_modules/autocannon'))) {
      const ci = await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir });
      assert.equal(ci.code, 0, ci.stderr);
    }
    const out = mkdtempSync(join(tmpdir(), 'berth-bench-api-'));
    try {
      const json = join(out, 'results.json');
      const r = await run(process.execPath, [join(dir, 'run.ts'), '--short', '--json', json], {
        cwd: REPO_ROOT,
      });
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      for (const re of [
        /ratio user rps Berth\/JupyterHub \d+\.\d\d×/,
        /ratio users list rps Berth\/JupyterHub \d+\.\d\d×/,
        /ratio RSS Berth\/JupyterHub \d+\.\d\d×/,
        /Berth RSS [\d.,]+ MB/,
      ]) {
        assert.match(r.stdout, re);
      }
      assert.match(r.stdout, /^done$/m);
      type Load = { rps: number; errors: number };
      const res = JSON.parse(readFileSync(json, 'utf8')) as {
        user: Record<string, Load>;
        usersList: Record<string, Load>;
        rss: Record<string, number>;
      };
      for (const name of ['berth', 'jupyterhub']) {
        assert.ok((res.user[name]?.rps ?? 0) > 0, `${name} answered GET /hub/api/user`);
        assert.equal(res.user[name]?.errors, 0, `${name}: no errors on GET /hub/api/user`);
        assert.ok((res.usersList[name]?.rps ?? 0) > 0, `${name} answered GET /hub/api/users`);
        assert.equal(res.usersList[name]?.errors, 0, `${name}: no errors on GET /hub/api/users`);
        assert.ok((res.rss[name] ?? 0) > 0, `${name} RSS measured`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

/**
 * Fuzz the hub's REST API from docs/openapi.json with schemathesis (berth/pytools) against a real hub on a real
 * Postgres (the test harness: nothing is spawned), as an admin with every scope. Full mode:
 *
 *   node test/fuzz/api-fuzz.ts                    # ≥ 10,000 generated requests (npm run fuzz:api)
 *   node test/fuzz/api-fuzz.ts --max-examples 5   # a short run
 *   node test/fuzz/api-fuzz.ts --served           # from the document the hub serves, not docs/openapi.json
 *
 * Prints the number of requests and every 5xx; exits 1 when there is one.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { issueApiToken } from '../../services/hub/src/api/tokens.ts';
import { startHarness } from '../../services/hub/src/testing/hub-harness.ts';
import { fuzzApi } from '../support/schemathesis.ts';

/**
 * One schemathesis run. `served`: generate from the document the hub serves (GET /hub/api/openapi.json) instead
 * of the checked-in docs/openapi.json (a test keeps the two equal).
 */
export async function fuzzOnce(maxExamples: number, seed?: number, served = false) {
  const h = await startHarness({ env: { BERTH_LOGIN_ATTEMPTS_PER_MINUTE: '1000' } });
  let guard: NodeJS.Timeout | undefined;
  try {
    await h.addUser('root', 'root-password-long', true);
    await h.addUser('alice', 'alice-password-long');
    const root = await h.hub.ctx.users.byName('root');
    if (!root) throw new Error('no root');
    // The fuzzer must not lock itself out, or the rest of the run is a wall of 403s that tests nothing. Its
    // token's id is not one it would guess (a1 is the first pattern match), and root stays an unblocked admin
    // whatever a generated PATCH /users/root says (the API lets an admin drop their own admin flag).
    await sql`ALTER SEQUENCE api_tokens_id_seq RESTART WITH 730531`.execute(h.hub.ctx.db);
    const { token } = await issueApiToken(h.hub.ctx, root, {});
    guard = setInterval(() => {
      void h.hub.ctx.db
        .updateTable('users')
        .set({ admin: true, blocked: false })
        .where('name', '=', 'root')
        .execute()
        .catch(() => undefined);
    }, 200);
    const origin = h.base.replace(/\/$/, '');
    let specPath: string | undefined;
    if (served) {
      specPath = join(mkdtempSync(join(tmpdir(), 'berth-openapi-')), 'openapi.json');
      writeFileSync(specPath, await (await fetch(`${origin}/hub/api/openapi.json`)).text(), { mode: 0o644 });
    }
    return await fuzzApi({
      origin,
      token,
      maxExamples,
      ...(seed !== undefined ? { seed } : {}),
      ...(specPath ? { specPath } : {}),
    });
  } finally {
    clearInterval(guard);
    await h.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { 'max-examples': { type: 'string' }, seed: { type: 'string' }, served: { type: 'boolean' } },
  });
  const r = await fuzzOnce(
    Number(values['max-examples'] ?? 300),
    values.seed ? Number(values.seed) : undefined,
    values.served === true,
  );
  process.stdout.write(`${r.output.split('\n').slice(-150).join('\n')}\n`);
  process.stdout.write(`requests: ${r.requests}\nserver errors: ${r.serverErrors.length}\n`);
  process.stdout.write(`responses by status: ${JSON.stringify(r.byStatus)}\n`);
  for (const e of r.serverErrors.slice(0, 50)) process.stdout.write(`  ${e.status} ${e.method} ${e.url}\n`);
  process.exit(r.serverErrors.length > 0 || r.requests === 0 ? 1 : 0);
}

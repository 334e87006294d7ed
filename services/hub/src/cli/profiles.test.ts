/** `berth profiles list|add|retire` as an admin runs it: the real CLI in a child process, a real Postgres. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { startPostgres } from '../testing/postgres.ts';

const CLI = fileURLToPath(new URL('./main.ts', import.meta.url));
const pin = (c: string) => `sha256:${c.repeat(64)}`;

describe('berth profiles (CLI, real Postgres)', () => {
  let pg: StartedPostgreSqlContainer;
  let dir: string;

  const berth = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, ...args],
        {
          env: {
            PATH: process.env.PATH,
            BERTH_DATABASE_URL: pg.getConnectionUri(),
            CONFIGPROXY_AUTH_TOKEN: 'x'.repeat(32),
            // No engine: the CLI says so and skips image checks.
            DOCKER_HOST: 'tcp://127.0.0.1:1',
          },
        },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      );
    });

  before(async () => {
    pg = await startPostgres();
    dir = await mkdtemp(join(tmpdir(), 'berth-cli-profiles-'));
  });
  after(async () => {
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('adds from YAML, lists, refuses a tag, retires (a new version)', async () => {
    const file = join(dir, 'p.yaml');
    await writeFile(
      file,
      `profiles:\n  - name: lab\n    image: "${pin('c')}"\n    memory: 1G\n    groups: [staff]\n`,
    );
    const add = await berth(['profiles', 'add', file]);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /added lab version 1/);
    assert.match(add.stdout, /cannot be reached/);
    const list = await berth(['profiles', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const row = list.stdout.split('\n').find((l) => l.startsWith('lab\t'));
    assert.equal(row, `lab\t1\t${pin('c')}\t1\t1G\t0\tno\tstaff\t-\tactive`);

    await writeFile(file, `name: bad\nimage: berth/singleuser:latest\n`);
    const bad = await berth(['profiles', 'add', file]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /image must be pinned/);

    const retired = await berth(['profiles', 'retire', 'lab']);
    assert.equal(retired.code, 0, retired.stderr);
    assert.match(retired.stdout, /retired lab \(version 2\)/);
    assert.doesNotMatch((await berth(['profiles', 'list'])).stdout, /^lab\t/m);
    assert.match((await berth(['profiles', 'list', '--all'])).stdout, /^lab\t2\t.*\tretired$/m);
    const missing = await berth(['profiles', 'retire', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such profile: nope/);
  });
});

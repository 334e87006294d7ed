/** `berth users|groups|tokens` as an admin runs them: the real CLI in a child process, a real Postgres. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { createDatabase } from '../db/database.ts';
import { startPostgres } from '../testing/postgres.ts';

const CLI = fileURLToPath(new URL('./main.ts', import.meta.url));

describe('berth users, groups and tokens (CLI, real Postgres)', () => {
  let pg: StartedPostgreSqlContainer;
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
          },
        },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      );
    });
  const ok = async (args: string[]) => {
    const r = await berth(args);
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    pg = await startPostgres();
  });
  after(() => pg?.stop());

  it('adds, lists, makes admin and deletes users', async () => {
    assert.match(await ok(['users', 'add', 'alice', 'bob']), /created user alice\ncreated user bob/);
    assert.match(await ok(['users', 'add', 'alice']), /exists already/);
    assert.match(await ok(['users', 'add', 'root', '--admin']), /created user root \(admin\)/);
    await ok(['users', 'admin', 'bob', 'on']);
    const list = await ok(['users', 'list']);
    assert.match(list, /^alice\tno\t-\t0\t-$/m);
    assert.match(list, /^bob\tyes\t/m);
    await ok(['users', 'admin', 'bob', 'off']);
    assert.match(await ok(['users', 'list']), /^bob\tno\t/m);
    assert.match(await ok(['users', 'delete', 'bob']), /deleted user bob/);
    assert.doesNotMatch(await ok(['users', 'list']), /^bob\t/m);
  });

  it('creates groups, changes members (shown on users), removes groups', async () => {
    await ok(['users', 'add', 'carol']);
    assert.match(
      await ok(['groups', 'add', 'physics', 'Lab Staff']),
      /created group physics\ncreated group Lab Staff/,
    );
    assert.match(await ok(['groups', 'member', 'add', 'physics', 'alice', 'carol']), /physics: alice,carol/);
    assert.match(await ok(['users', 'list']), /^alice\tno\tphysics\t/m);
    assert.match(await ok(['groups', 'member', 'remove', 'physics', 'carol']), /physics: alice$/m);
    assert.match(await ok(['groups', 'list']), /^physics\talice$/m);
    assert.match(await ok(['groups', 'remove', 'Lab Staff']), /deleted group Lab Staff/);
    assert.doesNotMatch(await ok(['groups', 'list']), /Lab Staff/);
  });

  it('lists and revokes tokens, never printing them again', async () => {
    const token = (await ok(['token', 'create', 'alice', '--note', 'ci'])).trim();
    assert.match(token, /^[0-9a-f]{64}$/);
    const list = await ok(['tokens', 'list', 'alice']);
    const id = /^(a\d+)\tapi\tci\t/m.exec(list)?.[1];
    assert.ok(id, list);
    assert.ok(!list.includes(token), 'the token is never shown again');
    assert.match(await ok(['tokens', 'revoke', 'alice', id]), /revoked/);
    assert.doesNotMatch(await ok(['tokens', 'list', 'alice']), /\tci\t/);
    const db = createDatabase(pg.getConnectionUri(), 1);
    try {
      assert.equal((await db.selectFrom('api_tokens').select('id').execute()).length, 0);
    } finally {
      await db.destroy();
    }
  });

  it('token create lets a user carry the scopes of their custom roles, and no more', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-cli-rbac-'));
    const rbac = join(dir, 'rbac.yaml');
    await writeFile(
      rbac,
      'roles: [{name: physics-reader, scopes: ["read:users!group=physics"], groups: [physics]}]\n',
    );
    const withRbac = async (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [CLI, ...args],
          {
            env: {
              PATH: process.env.PATH,
              BERTH_DATABASE_URL: pg.getConnectionUri(),
              CONFIGPROXY_AUTH_TOKEN: 'x'.repeat(32),
              BERTH_RBAC_FILE: rbac,
            },
          },
          (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
        );
      });
    // alice is in physics (above): the role's scope is hers to put on a token; a wider one is not.
    assert.equal(
      (await withRbac(['token', 'create', 'alice', '--scopes', 'read:users!group=physics'])).code,
      0,
    );
    assert.equal((await withRbac(['token', 'create', 'alice', '--scopes', 'read:users'])).code, 1);
    assert.equal((await berth(['token', 'create', 'alice', '--scopes', 'read:users!group=physics'])).code, 1);
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses bad names and unknown things with a message and exit 1, changing nothing', async () => {
    for (const args of [
      ['users', 'add', 'ok-name', 'Bad Name'],
      ['users', 'delete', 'nobody'],
      ['users', 'admin', 'alice', 'maybe'],
      ['groups', 'member', 'add', 'physics', 'nobody'],
      ['groups', 'remove', 'nope'],
      ['groups', 'add', ' padded'],
      ['tokens', 'revoke', 'alice', 'x1'],
    ]) {
      const r = await berth(args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^berth: /);
    }
    assert.doesNotMatch(await ok(['users', 'list']), /ok-name/);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { AccessRepo } from '../db/access-repo.ts';
import { createDatabase, migrateToLatest } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { SessionsRepo } from '../db/sessions-repo.ts';
import { TokensRepo } from '../db/tokens-repo.ts';
import { UsersRepo } from '../db/users-repo.ts';
import { startPostgres } from '../testing/postgres.ts';
import type { AccessSets } from './access-policy.ts';
import { applyAccessAtStart } from './apply-access.ts';

const base: AccessSets = {
  allowedUsers: [],
  blockedUsers: [],
  allowedGroups: [],
  adminUsers: [],
  adminGroups: [],
  allowAll: false,
};

describe('access applied at every start (real Postgres)', () => {
  let pg: StartedPostgreSqlContainer;
  let db: Kysely<Database>;
  let users: UsersRepo;
  let repo: AccessRepo;
  const log = pino({ level: 'silent' });
  const apply = (sets: Partial<AccessSets>, revokeDisallowed = true) =>
    applyAccessAtStart(repo, { ...base, ...sets }, { revokeDisallowed, log });

  before(async () => {
    pg = await startPostgres();
    db = createDatabase(pg.getConnectionUri(), 2);
    await migrateToLatest(db);
    users = new UsersRepo(db);
    repo = new AccessRepo(db);
  });
  after(async () => {
    await db?.destroy();
    await pg?.stop();
  });

  async function withSessionAndToken(name: string) {
    const u = (await users.byName(name)) ?? (await users.create(name, { admin: false, passwordHash: 'x' }));
    assert.ok(u);
    await new SessionsRepo(db).create(`s-${name}-${Date.now()}`, u.id, new Date(Date.now() + 60_000));
    await new TokensRepo(db).insert({
      userId: u.id,
      hash: `h-${name}-${Date.now()}`,
      prefix: 'p',
      kind: 'api',
      scopes: [],
    });
    return u;
  }
  const count = async (table: 'sessions' | 'api_tokens', userId: number) =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .where('user_id', '=', userId)
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('grants admin_users admin, and takes it back when they leave the list', async () => {
    await users.create('root', { admin: false, passwordHash: 'x' });
    assert.deepEqual((await apply({ adminUsers: ['root'] })).adminGranted, ['root']);
    assert.equal((await users.byName('root'))?.admin, true);
    assert.deepEqual((await apply({})).adminRevoked, ['root']);
    assert.equal((await users.byName('root'))?.admin, false);
  });

  it('leaves admins made by hand alone (unlike a JupyterHub admin_users entry, config owns only its own)', async () => {
    await users.create('manual', { admin: true, passwordHash: 'x' });
    await apply({ adminUsers: ['root'] });
    await apply({});
    assert.equal((await users.byName('manual'))?.admin, true);
  });

  it('re-evaluates admin_groups from the stored groups', async () => {
    const u = await users.create('grouped', { admin: false, passwordHash: 'x' });
    assert.ok(u);
    await repo.setGroups(u.id, ['ops']);
    await apply({ adminGroups: ['ops'] });
    assert.equal((await users.byName('grouped'))?.admin, true);
    await apply({ adminGroups: ['other'] });
    assert.equal((await users.byName('grouped'))?.admin, false);
  });

  it('ends the sessions and tokens of blocked users and of users outside the allowed sets', async () => {
    const blocked = await withSessionAndToken('mallory');
    const outside = await withSessionAndToken('trudy');
    const inside = await withSessionAndToken('walter');
    const report = await apply({ blockedUsers: ['mallory'], allowedUsers: ['walter', 'mallory'] });
    assert.deepEqual([...report.revoked].sort(), ['mallory', 'trudy']);
    for (const u of [blocked, outside]) {
      assert.equal(await count('sessions', u.id), 0);
      assert.equal(await count('api_tokens', u.id), 0);
    }
    assert.equal(await count('sessions', inside.id), 1);
    assert.equal(await count('api_tokens', inside.id), 1);
  });

  it('marks users named in blocked_users blocked (users.blocked), and does not unblock them when they leave it', async () => {
    await users.create('eve', { admin: false, passwordHash: 'x' });
    await users.create('frank', { admin: false, passwordHash: 'x' });
    const report = await apply({ blockedUsers: ['eve'] });
    assert.deepEqual(report.blocked, ['eve']);
    assert.equal((await users.byName('eve'))?.blocked, true);
    assert.equal((await users.byName('frank'))?.blocked, false);
    assert.deepEqual((await apply({})).blocked, []);
    assert.equal((await users.byName('eve'))?.blocked, true, 'an admin unblocks, not a restart');
  });

  it('keeps sessions when revokeDisallowed is off', async () => {
    const u = await withSessionAndToken('kept');
    await apply({ blockedUsers: ['kept'] }, false);
    assert.equal(await count('sessions', u.id), 1);
  });
});

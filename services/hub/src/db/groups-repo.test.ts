import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import type { Kysely } from 'kysely';
import { Migrator } from 'kysely/migration';
import { startPostgres } from '../testing/postgres.ts';
import { createDatabase, migrateToLatest } from './database.ts';
import { GROUP_NAME_RE, GroupsRepo } from './groups-repo.ts';
import * as m0001 from './migrations/0001-initial.ts';
import * as m0002 from './migrations/0002-auth.ts';
import type { Database } from './schema.ts';
import { UsersRepo } from './users-repo.ts';

describe('GroupsRepo (real Postgres)', () => {
  let pg: StartedPostgreSqlContainer;
  let db: Kysely<Database>;
  let groups: GroupsRepo;
  let users: UsersRepo;
  const mirror = async (name: string) => (await users.byName(name))?.groups;
  const id = async (name: string) => {
    const u = (await users.byName(name)) ?? (await users.create(name, { admin: false, passwordHash: null }));
    assert.ok(u);
    return u.id;
  };

  before(async () => {
    pg = await startPostgres();
    db = createDatabase(pg.getConnectionUri());
    // The schema as it was before 0003, with a user whose login groups 0003 must turn into groups.
    const old = new Migrator({
      db,
      provider: { getMigrations: async () => ({ '0001-initial': m0001, '0002-auth': m0002 }) },
    });
    assert.equal((await old.migrateToLatest()).error, undefined);
    await db
      .insertInto('users')
      .values({ name: 'dora', password_hash: null, groups: JSON.stringify(['legacy-a', 'Legacy B']) })
      .execute();
    await migrateToLatest(db);
    groups = new GroupsRepo(db);
    users = new UsersRepo(db);
  });
  after(async () => {
    await db?.destroy();
    await pg?.stop();
  });

  it('migration 0003 made groups, with members, of the login groups users had', async () => {
    for (const name of ['legacy-a', 'Legacy B']) {
      const g = await groups.byName(name);
      assert.ok(g, name);
      assert.deepEqual((await groups.withMembers(g)).users, ['dora']);
    }
  });

  it('create skips existing names and adds members; users.groups mirrors membership', async () => {
    const a = await id('alice');
    const made = await groups.create(['physics', 'chem'], [a]);
    assert.deepEqual(made.map((g) => g.name).sort(), ['chem', 'physics']);
    assert.deepEqual(await groups.create(['physics']), []);
    assert.deepEqual(await mirror('alice'), ['chem', 'physics']);
    const g = await groups.byName('physics');
    assert.ok(g);
    assert.deepEqual((await groups.withMembers(g)).users, ['alice']);
  });

  it('add/remove members keep the mirror equal', async () => {
    const b = await id('bob');
    const g = await groups.byName('chem');
    assert.ok(g);
    await groups.addMembers(g.id, [b, b]);
    assert.deepEqual(await mirror('bob'), ['chem']);
    await groups.removeMembers(g.id, [b]);
    assert.deepEqual(await mirror('bob'), []);
    assert.deepEqual((await groups.withMembers(g)).users, ['alice']);
  });

  it('deleting a group takes it from its members', async () => {
    assert.equal(await groups.delete('chem'), true);
    assert.equal(await groups.delete('chem'), false);
    assert.deepEqual(await mirror('alice'), ['physics']);
  });

  it('syncUserGroups sets exactly the given groups, creating new ones, skipping unusable names', async () => {
    const c = await id('carol');
    await groups.syncUserGroups(c, ['physics', 'Lab Staff']);
    assert.deepEqual(await mirror('carol'), ['Lab Staff', 'physics']);
    const r = await groups.syncUserGroups(c, ['Lab Staff', 'a/b', ' pad']);
    assert.deepEqual(r.skipped, ['a/b', ' pad']);
    assert.deepEqual(await mirror('carol'), ['Lab Staff']);
    await groups.syncUserGroups(c, []);
    assert.deepEqual(await mirror('carol'), []);
    assert.ok(await groups.byName('Lab Staff'), 'groups outlive their last member');
  });

  it('membersByName reads the users.groups mirror, so groups the login wrote count too', async () => {
    const d = await id('dana');
    await db
      .updateTable('users')
      .set({ groups: JSON.stringify(['from-ldap']) })
      .where('id', '=', d)
      .execute();
    assert.deepEqual(
      await groups.membersByName(['from-ldap', 'physics', 'none']),
      new Map([
        ['from-ldap', ['dana']],
        ['physics', ['alice']],
      ]),
    );
  });

  it('properties are stored as given', async () => {
    const g = await groups.byName('physics');
    assert.ok(g);
    await groups.setProperties(g.id, { gpu: true, quota: { cpu: 2 } });
    assert.deepEqual((await groups.byName('physics'))?.properties, { gpu: true, quota: { cpu: 2 } });
  });

  it('page lists all or only named groups, with totals', async () => {
    const all = await groups.page('all', 0, 1);
    assert.equal(all.rows.length, 1);
    assert.equal(all.total, 4); // legacy-a, Legacy B, physics, Lab Staff
    const some = await groups.page(['physics', 'nope'], 0, 10);
    assert.deepEqual(
      some.rows.map((g) => g.name),
      ['physics'],
    );
    assert.equal(some.total, 1);
    assert.deepEqual(await groups.page([], 0, 10), { rows: [], total: 0 });
  });

  it('group names: printable, no slash, no surrounding spaces', () => {
    for (const ok of ['a', 'Lab Staff', 'cn-ü', 'x'.repeat(255)]) assert.ok(GROUP_NAME_RE.test(ok), ok);
    for (const bad of ['', ' a', 'a ', 'a/b', 'a\nb', 'x'.repeat(256)])
      assert.ok(!GROUP_NAME_RE.test(bad), bad);
  });
});

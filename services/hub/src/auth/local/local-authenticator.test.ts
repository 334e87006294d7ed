import { AccessRepo } from '../../db/access-repo.ts';
import { UsersRepo } from '../../db/users-repo.ts';
import { authenticatorConformance } from '../authenticator.conformance.ts';
import { hashPassword } from '../password.ts';
import { LocalAuthenticator } from './local-authenticator.ts';

authenticatorConformance('local accounts', async (db) => {
  const users = new UsersRepo(db);
  const access = new AccessRepo(db);
  const seed = async (name: string, password: string, groups: string[]) => {
    const row = await users.create(name, { admin: false, passwordHash: await hashPassword(password) });
    if (row) await access.setGroups(row.id, groups);
  };
  await seed('alice', 'alice-password', ['researchers', 'hub-admins']);
  await seed('bob', 'bob-password', ['researchers']);
  await seed('carol', 'carol-password', ['outsiders']);
  return {
    authenticator: new LocalAuthenticator(users),
    admin: { username: 'alice', password: 'alice-password' },
    member: { username: 'bob', password: 'bob-password' },
    outsider: { username: 'carol', password: 'carol-password' },
    allowedGroup: 'researchers',
    adminGroup: 'hub-admins',
    async setMember(name, group, member) {
      const row = await users.byName(name);
      if (!row) throw new Error(`no user ${name}`);
      const groups = row.groups.filter((g) => g !== group);
      await access.setGroups(row.id, member ? [...groups, group] : groups);
    },
    async close() {},
  };
});

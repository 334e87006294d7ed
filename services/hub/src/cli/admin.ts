import type { Kysely } from 'kysely';
import { checkGroupName } from '../api/groups.ts';
import { checkUserName } from '../api/validate.ts';
import { GroupsRepo } from '../db/groups-repo.ts';
import type { Database } from '../db/schema.ts';
import { ServersRepo } from '../db/servers-repo.ts';
import { TokensRepo } from '../db/tokens-repo.ts';
import { UsersRepo } from '../db/users-repo.ts';
import { HubError } from '../errors.ts';

export const ADMIN_USAGE = `  users list                                       users: name, admin, groups, running servers
  users add <name>... [--admin]                    create users (no password: they log in through LDAP/OIDC)
  users delete <name>                              delete a user without servers (stop them first)
  users admin <name> on|off                        grant or take away admin
  groups list                                      groups and their members
  groups add <name>... | groups remove <name>      create or delete groups
  groups member add|remove <group> <user>...       change a group's members
  tokens list <user>                               a user's API tokens (never the tokens themselves)
  tokens revoke <user> <id>                        revoke one (id as listed, e.g. a12)
`;

export interface AdminArgs {
  readonly words: readonly string[];
  readonly admin: boolean;
}

type Out = (line: string) => void;

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : '-');

async function userNamed(users: UsersRepo, name: string) {
  const row = await users.byName(checkUserName(name));
  if (!row) throw new HubError('USER_NOT_FOUND', `no such user: ${name}`);
  return row;
}

/**
 * `berth users|groups|tokens …`: what an admin does at the console, on the database directly (the hub need not
 * run). Same rules as the API: names checked, nothing half done (a bad name refuses the whole command).
 */
export async function runAdmin(db: Kysely<Database>, args: AdminArgs, out: Out): Promise<number> {
  const [noun, verb, ...rest] = args.words;
  const users = new UsersRepo(db);
  const groups = new GroupsRepo(db);
  if (noun === 'users' && verb === 'list') {
    const servers = new ServersRepo(db);
    let offset = 0;
    out('name\tadmin\tgroups\trunning\tlast_activity');
    for (;;) {
      const page = await users.list(offset, 500);
      if (page.length === 0) break;
      const byUser = await servers.forUsers(page.map((u) => u.id));
      for (const u of page) {
        const running = (byUser.get(u.id) ?? []).filter((s) => s.state === 'running').length;
        out(
          `${u.name}\t${u.admin ? 'yes' : 'no'}\t${(u.groups ?? []).join(',') || '-'}\t${running}\t${iso(u.last_activity)}`,
        );
      }
      offset += page.length;
    }
    return 0;
  }
  if (noun === 'users' && verb === 'add') {
    const names = rest.map(checkUserName);
    if (names.length === 0) throw new HubError('BAD_REQUEST', 'name at least one user');
    for (const name of names) {
      const row = await users.create(name, { admin: args.admin, passwordHash: null });
      out(row ? `created user ${name}${args.admin ? ' (admin)' : ''}` : `user ${name} exists already`);
    }
    return 0;
  }
  if (noun === 'users' && verb === 'delete' && rest.length === 1) {
    const row = await userNamed(users, rest[0] as string);
    if ((await new ServersRepo(db).forUser(row.id)).length > 0) {
      throw new HubError(
        'CONFLICT',
        `${row.name} has servers: stop them first (or DELETE /hub/api/users/${row.name})`,
      );
    }
    await users.delete(row.id);
    out(`deleted user ${row.name}`);
    return 0;
  }
  if (noun === 'users' && verb === 'admin' && rest.length === 2 && (rest[1] === 'on' || rest[1] === 'off')) {
    const row = await userNamed(users, rest[0] as string);
    await users.update(row.id, { admin: rest[1] === 'on' });
    out(`${row.name} is ${rest[1] === 'on' ? 'now an admin' : 'no longer an admin'}`);
    return 0;
  }
  if (noun === 'groups' && verb === 'list') {
    const { rows } = await groups.page('all', 0, 1_000_000);
    const members = await groups.members(rows.map((g) => g.id));
    out('group\tmembers');
    for (const g of rows) out(`${g.name}\t${(members.get(g.id) ?? []).join(',') || '-'}`);
    return 0;
  }
  if (noun === 'groups' && verb === 'add') {
    const names = rest.map(checkGroupName);
    if (names.length === 0) throw new HubError('BAD_REQUEST', 'name at least one group');
    const made = new Set((await groups.create(names)).map((g) => g.name));
    for (const n of names) out(made.has(n) ? `created group ${n}` : `group ${n} exists already`);
    return 0;
  }
  if (noun === 'groups' && verb === 'remove' && rest.length === 1) {
    const name = checkGroupName(rest[0]);
    if (!(await groups.delete(name))) throw new HubError('NOT_FOUND', `no such group: ${name}`);
    out(`deleted group ${name}`);
    return 0;
  }
  if (
    noun === 'groups' &&
    verb === 'member' &&
    (rest[0] === 'add' || rest[0] === 'remove') &&
    rest.length >= 3
  ) {
    const [how, groupName, ...names] = rest as [string, string, ...string[]];
    const g = await groups.byName(checkGroupName(groupName));
    if (!g) throw new HubError('NOT_FOUND', `no such group: ${groupName}`);
    const ids: number[] = [];
    for (const n of names) ids.push((await userNamed(users, n)).id);
    if (how === 'add') await groups.addMembers(g.id, ids);
    else await groups.removeMembers(g.id, ids);
    out(`${g.name}: ${(await groups.withMembers(g)).users.join(',') || '(no members)'}`);
    return 0;
  }
  if (noun === 'tokens' && verb === 'list' && rest.length === 1) {
    const row = await userNamed(users, rest[0] as string);
    out('id\tkind\tnote\tscopes\tcreated\texpires\tlast_activity');
    for (const t of await new TokensRepo(db).listForUser(row.id)) {
      out(
        `a${t.id}\t${t.kind}\t${t.note ?? '-'}\t${t.scopes.join(',')}\t${iso(t.created)}\t${iso(t.expires_at)}\t${iso(t.last_activity)}`,
      );
    }
    return 0;
  }
  if (noun === 'tokens' && verb === 'revoke' && rest.length === 2) {
    const row = await userNamed(users, rest[0] as string);
    const m = /^a([1-9]\d{0,9})$/.exec(rest[1] as string);
    const tokens = new TokensRepo(db);
    const t = m ? await tokens.byIdForUser(Number(m[1]), row.id) : undefined;
    if (!t) throw new HubError('NOT_FOUND', `${row.name} has no token ${rest[1]}`);
    await tokens.delete(t.id);
    out(`revoked ${rest[1]} of ${row.name}`);
    return 0;
  }
  throw new HubError('BAD_REQUEST', `unknown command: ${args.words.join(' ')}\n${ADMIN_USAGE}`);
}

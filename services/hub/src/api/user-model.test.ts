import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { issueApiToken } from './tokens.ts';

type Model = Record<string, unknown>;

/**
 * The user model as JupyterHub 5/6 answers it (apihandlers/base.py `user_model`): `roles` names the roles given
 * to the user (default and custom; a group's roles show on the group), and every field is shown only to the
 * scopes that reveal it, on GET /users/{name}, GET /users, GET /user and the answers of POST and PATCH.
 */
describe('the user model: custom roles and scope-filtered fields (real Postgres)', () => {
  let h: Harness;
  const tokenOf = async (owner: string, scopes?: string[]) => {
    const u = await h.hub.ctx.users.byName(owner);
    assert.ok(u, owner);
    return (await issueApiToken(h.hub.ctx, u, scopes ? { scopes } : {})).token;
  };
  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${h.base}/hub/api${path}`, {
      method,
      headers: {
        authorization: `token ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : undefined) as unknown };
  };
  const keysOf = (m: unknown) => Object.keys(m as Model).sort();

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-roles-'));
    writeFileSync(
      join(dir, 'rbac.yaml'),
      `
roles:
  - name: course-staff
    scopes: [read:hub, "read:users!group=physics"]
    users: [alice]
  - name: physics-readers
    scopes: [read:metrics]
    groups: [physics]
  - name: auditors
    scopes: [read:audit]
    users: [alice, root]
`,
    );
    h = await startHarness({ env: { BERTH_RBAC_FILE: join(dir, 'rbac.yaml') } });
    await h.addUser('root', 'root-password', true);
    await h.addUser('alice', 'alice-password');
    await h.addUser('bob', 'bob-password');
    const bob = await h.hub.ctx.users.byName('bob');
    assert.ok(bob);
    await h.hub.ctx.groups.syncUserGroups(bob.id, ['physics']);
    const alice = await h.hub.ctx.users.byName('alice');
    assert.ok(alice);
    assert.equal((await h.hub.ctx.lifecycle.start(alice, '')).status, 'ready');
  });
  after(() => h?.close());

  it('custom roles given to a user appear in their roles, in GET /users/{name}, GET /users and GET /user', async () => {
    const root = await tokenOf('root');
    const one = await call(root, 'GET', '/users/alice');
    assert.equal(one.status, 200);
    assert.deepEqual((one.json as Model).roles, ['user', 'course-staff', 'auditors']);
    const list = (await call(root, 'GET', '/users')).json as Model[];
    const roles = Object.fromEntries(list.map((u) => [u.name, u.roles]));
    assert.deepEqual(roles, {
      root: ['admin', 'user', 'auditors'],
      alice: ['user', 'course-staff', 'auditors'],
      // As JupyterHub: a role given to a group is the group's (its members hold its scopes), not the user's.
      bob: ['user'],
    });
    const group = (await call(root, 'GET', '/groups/physics')).json as Model;
    assert.deepEqual(group.roles, ['physics-readers']);
    const me = (await call(await tokenOf('alice'), 'GET', '/user')).json as Model;
    assert.deepEqual(me.roles, ['user', 'course-staff', 'auditors']);
    // The roles are real: alice holds what course-staff gives, bob what his group's role gives.
    assert.equal((await call(await tokenOf('alice'), 'GET', '/users/bob')).status, 200);
    assert.equal((await call(await tokenOf('bob'), 'GET', '/users/alice')).status, 403);
  });

  it('GET /users/{name} answers each scope alone with exactly the fields JupyterHub shows it', async () => {
    const only = async (scope: string) => {
      const r = await call(await tokenOf('root', [scope]), 'GET', '/users/alice');
      assert.equal(r.status, 200, `${scope}: ${JSON.stringify(r.json)}`);
      return r.json as Model;
    };
    // read:servers implies read:users:name (JupyterHub's scopes.py), hence admin.
    const servers = await only('read:servers');
    assert.deepEqual(keysOf(servers), ['admin', 'kind', 'name', 'servers']);
    assert.deepEqual(Object.keys(servers.servers as Model), ['']);
    assert.deepEqual(keysOf(await only('read:users:name')), ['admin', 'kind', 'name']);
    assert.deepEqual(keysOf(await only('read:users:groups')), ['groups', 'kind', 'name']);
    assert.deepEqual(keysOf(await only('read:users:activity')), ['kind', 'last_activity', 'name']);
    const roles = await only('read:roles:users');
    assert.deepEqual(keysOf(roles), ['admin', 'kind', 'name', 'roles']);
    assert.deepEqual(roles.roles, ['user', 'course-staff', 'auditors']);
    // read:users reveals everything but the servers; those need read:servers.
    assert.deepEqual(keysOf(await only('read:users')), [
      'admin',
      'blocked',
      'created',
      'groups',
      'kind',
      'last_activity',
      'name',
      'pending',
      'roles',
      'server',
    ]);
    const both = await call(await tokenOf('root', ['read:users', 'read:servers']), 'GET', '/users/alice');
    assert.ok('servers' in (both.json as Model) && 'roles' in (both.json as Model));
    // No scope that reveals any of it: 403, as before.
    assert.equal((await call(await tokenOf('root', ['read:hub']), 'GET', '/users/alice')).status, 403);
    assert.equal(
      (await call(await tokenOf('root', ['read:users:name!user=bob']), 'GET', '/users/alice')).status,
      403,
    );
  });

  it('a !server= filter shows that server alone', async () => {
    const t = await tokenOf('root', ['read:users:name', 'read:servers!server=alice/other']);
    const r = await call(t, 'GET', '/users/alice');
    assert.equal(r.status, 200);
    // No readable server: the key is left out, as JupyterHub leaves it out.
    assert.deepEqual(keysOf(r.json), ['admin', 'kind', 'name']);
    const own = await tokenOf('root', ['read:users:name', 'read:servers!server=alice/']);
    const seen = (await call(own, 'GET', '/users/alice')).json as Model;
    assert.deepEqual(Object.keys(seen.servers as Model), ['']);
  });

  it('GET /users filters each model the same way', async () => {
    const list = (await call(await tokenOf('root', ['list:users', 'read:users:groups']), 'GET', '/users'))
      .json as Model[];
    const bob = list.find((u) => u.name === 'bob');
    assert.deepEqual(bob, { kind: 'user', name: 'bob', admin: false, groups: ['physics'] });
    const full = (await call(await tokenOf('root', ['list:users', 'read:users']), 'GET', '/users'))
      .json as Model[];
    assert.ok(
      full.every((u) => !('servers' in u)),
      'no servers without read:servers',
    );
  });

  it('GET /user shows a token its owner’s name and groups, and the rest only as its scopes allow', async () => {
    const bare = (await call(await tokenOf('bob', ['read:metrics']), 'GET', '/user')).json as Model;
    assert.deepEqual(keysOf(bare), ['admin', 'groups', 'kind', 'name', 'scopes', 'session_id', 'token_id']);
    assert.deepEqual(bare.groups, ['physics']);
    assert.equal(bare.name, 'bob');
    // Only what the token holds is listed as its scopes, not the identify scopes the hub added.
    assert.ok(!(bare.scopes as string[]).some((s) => s.startsWith('read:users')), String(bare.scopes));
    const own = (await call(await tokenOf('bob'), 'GET', '/user')).json as Model;
    for (const k of ['roles', 'servers', 'last_activity', 'created', 'server', 'pending'])
      assert.ok(k in own, k);
  });

  it('POST and PATCH answer with the model the caller may see', async () => {
    const t = await tokenOf('root', ['admin:users']);
    const created = await call(t, 'POST', '/users/carol');
    assert.equal(created.status, 201);
    // admin:users holds read:users and read:roles:users, not read:servers.
    assert.ok(!('servers' in (created.json as Model)) && 'roles' in (created.json as Model));
    const patched = await call(t, 'PATCH', '/users/alice', {});
    assert.equal(patched.status, 200);
    assert.deepEqual((patched.json as Model).roles, ['user', 'course-staff', 'auditors']);
    assert.ok(!('servers' in (patched.json as Model)));
  });
});

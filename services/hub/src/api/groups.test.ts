import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { issueApiToken } from './tokens.ts';

type Call = { method: string; path: string; body?: unknown; accept?: string };

const RBAC = `
roles:
  - name: physics-teacher
    description: manages the physics students
    scopes: ['admin:users!group=physics', 'list:users!group=physics', 'groups!group=physics', 'read:roles:groups']
    groups: [teachers]
  - name: observer
    scopes: ['read:hub']
    users: [olga]
    groups: [physics]
`;

describe('groups API and custom roles (real Postgres)', () => {
  let h: Harness;
  const tokenOf = async (name: string, scopes?: string[]) => {
    const u = await h.hub.ctx.users.byName(name);
    assert.ok(u, name);
    return (await issueApiToken(h.hub.ctx, u, scopes ? { scopes } : {})).token;
  };
  const call = async (token: string, c: Call) => {
    const headers = new Headers({ authorization: `token ${token}` });
    if (c.body !== undefined) headers.set('content-type', 'application/json');
    if (c.accept) headers.set('accept', c.accept);
    const res = await fetch(`${h.base}/hub/api${c.path}`, {
      method: c.method,
      headers,
      ...(c.body !== undefined ? { body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
  };

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-rbac-'));
    writeFileSync(join(dir, 'rbac.yaml'), RBAC);
    h = await startHarness({ env: { BERTH_RBAC_FILE: join(dir, 'rbac.yaml') } });
    await h.addUser('root', 'root-password', true);
    for (const n of ['alice', 'bob', 'tess', 'olga']) await h.addUser(n, `${n}-password`);
  });
  after(() => h?.close());

  it('creates, reads, lists, changes members and properties, deletes (JupyterHub shapes and codes)', async () => {
    const root = await tokenOf('root');
    const one = await call(root, { method: 'POST', path: '/groups/physics', body: { users: ['bob'] } });
    assert.equal(one.status, 201);
    assert.deepEqual(one.json, {
      kind: 'group',
      name: 'physics',
      users: ['bob'],
      properties: {},
      roles: ['observer'],
    });
    assert.equal((await call(root, { method: 'POST', path: '/groups/physics' })).status, 409);
    const many = await call(root, {
      method: 'POST',
      path: '/groups',
      body: { groups: ['teachers', 'Lab Staff'], users: ['tess'] },
    });
    assert.equal(many.status, 201);
    assert.deepEqual(
      (many.json as unknown as { name: string; users: string[] }[]).map((g) => [g.name, g.users]),
      [
        ['teachers', ['tess']],
        ['Lab Staff', ['tess']],
      ],
    );
    assert.equal(
      (await call(root, { method: 'POST', path: '/groups', body: { groups: ['physics'] } })).status,
      409,
    );
    const nobody = await call(root, { method: 'POST', path: '/groups/x', body: { users: ['nobody'] } });
    assert.equal(nobody.status, 400);
    assert.equal(await h.hub.ctx.groups.byName('x'), undefined, 'nothing created for a bad member');

    const added = await call(root, {
      method: 'POST',
      path: '/groups/physics/users',
      body: { users: ['alice'] },
    });
    assert.equal(added.status, 200);
    assert.deepEqual(added.json.users, ['alice', 'bob']);
    const user = await call(root, { method: 'GET', path: '/users/alice' });
    assert.deepEqual(user.json.groups, ['physics'], 'the user model shows membership');
    const removed = await call(root, {
      method: 'DELETE',
      path: '/groups/physics/users',
      body: { users: ['alice'] },
    });
    assert.deepEqual(removed.json.users, ['bob']);
    assert.deepEqual((await call(root, { method: 'GET', path: '/users/alice' })).json.groups, []);

    const props = await call(root, {
      method: 'PUT',
      path: '/groups/physics/properties',
      body: { gpu: true },
    });
    assert.equal(props.status, 200);
    assert.deepEqual(props.json.properties, { gpu: true });
    assert.deepEqual((await call(root, { method: 'GET', path: '/groups/physics' })).json.properties, {
      gpu: true,
    });

    const lab = encodeURIComponent('Lab Staff');
    assert.equal((await call(root, { method: 'GET', path: `/groups/${lab}` })).status, 200);
    const list = await call(root, { method: 'GET', path: '/groups' });
    assert.deepEqual(
      (list.json as unknown as { name: string }[]).map((g) => g.name),
      ['physics', 'teachers', 'Lab Staff'],
    );
    const page = await call(root, {
      method: 'GET',
      path: '/groups?offset=1&limit=1',
      accept: 'application/jupyterhub-pagination+json',
    });
    const body = page.json as unknown as { items: { name: string }[]; _pagination: { total: number } };
    assert.deepEqual(
      body.items.map((g) => g.name),
      ['teachers'],
    );
    assert.equal(body._pagination.total, 3);

    assert.equal((await call(root, { method: 'DELETE', path: `/groups/${lab}` })).status, 204);
    assert.equal((await call(root, { method: 'DELETE', path: `/groups/${lab}` })).status, 404);
    assert.equal((await call(root, { method: 'GET', path: `/groups/${lab}` })).status, 404);
    assert.deepEqual((await call(root, { method: 'GET', path: '/users/tess' })).json.groups, ['teachers']);
  });

  it('each endpoint needs its JupyterHub scope', async () => {
    const rows: { scope: string; c: Call; ok: number }[] = [
      { scope: 'list:groups', c: { method: 'GET', path: '/groups' }, ok: 200 },
      { scope: 'read:groups', c: { method: 'GET', path: '/groups/physics' }, ok: 200 },
      { scope: 'admin:groups', c: { method: 'POST', path: `/groups/g-${Date.now()}` }, ok: 201 },
      {
        scope: 'admin:groups',
        c: { method: 'POST', path: '/groups', body: { groups: [`m-${Date.now()}`] } },
        ok: 201,
      },
      {
        scope: 'groups',
        c: { method: 'POST', path: '/groups/physics/users', body: { users: ['bob'] } },
        ok: 200,
      },
      {
        scope: 'groups',
        c: { method: 'DELETE', path: '/groups/physics/users', body: { users: ['olga'] } },
        ok: 200,
      },
      {
        scope: 'groups',
        c: { method: 'PUT', path: '/groups/physics/properties', body: { gpu: true } },
        ok: 200,
      },
    ];
    for (const r of rows) {
      const yes = await call(await tokenOf('root', [r.scope]), r.c);
      assert.equal(
        yes.status,
        r.ok,
        `${r.c.method} ${r.c.path} with ${r.scope}: ${JSON.stringify(yes.json)}`,
      );
      const no = await call(await tokenOf('root', ['read:users']), r.c);
      assert.equal(no.status, 403, `${r.c.method} ${r.c.path} without ${r.scope}`);
      assert.equal(no.json.status, 403);
    }
    await h.hub.ctx.groups.create(['doomed']);
    assert.equal(
      (await call(await tokenOf('root', ['groups']), { method: 'DELETE', path: '/groups/doomed' })).status,
      403,
      'groups does not imply delete:groups',
    );
    assert.equal(
      (await call(await tokenOf('root', ['delete:groups']), { method: 'DELETE', path: '/groups/doomed' }))
        .status,
      204,
    );
  });

  it('filtered scopes see and touch only their groups; name-only scopes see names only', async () => {
    const t = await tokenOf('root', ['list:groups!group=physics', 'read:groups!group=physics']);
    const list = await call(t, { method: 'GET', path: '/groups' });
    assert.deepEqual(
      (list.json as unknown as { name: string }[]).map((g) => g.name),
      ['physics'],
    );
    assert.equal((await call(t, { method: 'GET', path: '/groups/teachers' })).status, 403);
    const byUser = await tokenOf('root', ['list:groups!user=alice']);
    assert.equal((await call(byUser, { method: 'GET', path: '/groups' })).status, 403);
    const names = await call(await tokenOf('root', ['list:groups']), { method: 'GET', path: '/groups' });
    assert.ok(
      (names.json as unknown as Record<string, unknown>[]).every(
        (g) => Object.keys(g).sort().join() === 'kind,name',
      ),
    );
    const g = await tokenOf('root', ['groups!group=teachers']);
    assert.equal(
      (await call(g, { method: 'POST', path: '/groups/physics/users', body: { users: ['alice'] } })).status,
      403,
    );
  });

  it('!group= filters follow membership, on single users and on the users list', async () => {
    const t = await tokenOf('root', ['read:users!group=physics', 'list:users!group=physics']);
    assert.equal((await call(t, { method: 'GET', path: '/users/bob' })).status, 200);
    assert.equal((await call(t, { method: 'GET', path: '/users/alice' })).status, 403);
    const root = await tokenOf('root');
    await call(root, { method: 'POST', path: '/groups/physics/users', body: { users: ['alice'] } });
    assert.equal(
      (await call(t, { method: 'GET', path: '/users/alice' })).status,
      200,
      'membership counts at once',
    );
    const list = await call(t, { method: 'GET', path: '/users' });
    assert.deepEqual((list.json as unknown as { name: string }[]).map((u) => u.name).sort(), [
      'alice',
      'bob',
    ]);
    await call(root, { method: 'DELETE', path: '/groups/physics/users', body: { users: ['alice'] } });
    assert.equal((await call(t, { method: 'GET', path: '/users/alice' })).status, 403);
  });

  it('custom roles from the RBAC file: given to a group, they act only within their filter', async () => {
    // tess is in teachers → physics-teacher: admin:users!group=physics.
    const tess = await tokenOf('tess');
    const me = await call(tess, { method: 'GET', path: '/user' });
    assert.ok((me.json.scopes as string[]).includes('admin:users!group=physics'));
    assert.equal((await call(tess, { method: 'GET', path: '/users/bob' })).status, 200);
    assert.equal((await call(tess, { method: 'GET', path: '/users/root' })).status, 403);
    const listed = await call(tess, { method: 'GET', path: '/users' });
    assert.deepEqual((listed.json as unknown as { name: string }[]).map((u) => u.name).sort(), ['bob']);
    // A role given to a user directly (olga) and to a group (physics: bob) alike.
    assert.equal((await call(await tokenOf('olga'), { method: 'GET', path: '/info' })).status, 200);
    assert.equal((await call(await tokenOf('bob'), { method: 'GET', path: '/info' })).status, 200);
    assert.equal((await call(await tokenOf('alice'), { method: 'GET', path: '/info' })).status, 403);
  });

  it('a token never exceeds its owner: role scopes can be requested, more cannot', async () => {
    const tessRow = await h.hub.ctx.users.byName('tess');
    assert.ok(tessRow);
    const ok = await call(await tokenOf('tess'), {
      method: 'POST',
      path: '/users/tess/tokens',
      body: { scopes: ['admin:users!group=physics'] },
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.json));
    for (const scopes of [['admin:users'], ['admin:users!group=teachers'], ['read:hub']]) {
      const r = await call(await tokenOf('tess'), {
        method: 'POST',
        path: '/users/tess/tokens',
        body: { scopes },
      });
      assert.equal(r.status, 403, scopes.join());
    }
    // Losing the group takes the role's scopes from tokens made while it was held.
    const scoped = (await call(ok.json.token as string, { method: 'GET', path: '/user' })).json
      .scopes as string[];
    assert.ok(scoped.includes('admin:users!group=physics'));
    const teachers = await h.hub.ctx.groups.byName('teachers');
    assert.ok(teachers);
    await h.hub.ctx.groups.removeMembers(teachers.id, [tessRow.id]);
    const after = (await call(ok.json.token as string, { method: 'GET', path: '/user' })).json
      .scopes as string[];
    assert.ok(!after.includes('admin:users!group=physics'), after.join());
    assert.equal((await call(ok.json.token as string, { method: 'GET', path: '/users/bob' })).status, 403);
  });

  it('bad input gets 4xx with status and message, never 500', async () => {
    const root = await tokenOf('root');
    const cases: Call[] = [
      { method: 'GET', path: '/groups/%20lead' },
      { method: 'POST', path: '/groups/a%2Fb' },
      { method: 'POST', path: '/groups/ok', body: { users: 'bob' } },
      { method: 'POST', path: '/groups/ok', body: { users: ['bob'], extra: 1 } },
      { method: 'POST', path: '/groups/ok', body: { name: 'other' } },
      { method: 'POST', path: '/groups', body: { groups: [] } },
      { method: 'POST', path: '/groups', body: { groups: 'x' } },
      { method: 'POST', path: '/groups', body: {} },
      { method: 'POST', path: '/groups', body: { groups: ['ok', ' bad'] } },
      { method: 'POST', path: '/groups/physics/users', body: {} },
      { method: 'POST', path: '/groups/physics/users', body: { users: [1] } },
      { method: 'POST', path: '/groups/nope/users', body: { users: ['bob'] } },
      { method: 'PUT', path: '/groups/physics/properties', body: [] },
      { method: 'PUT', path: '/groups/physics/properties', body: 'null' },
      { method: 'PUT', path: '/groups/physics/properties', body: '{"__proto__": {"x": 1}}' },
      { method: 'PUT', path: '/groups/physics/properties', body: '{"constructor": {"prototype": {"x": 1}}}' },
      { method: 'PUT', path: '/groups/physics/properties', body: `{"big": "${'x'.repeat(70_000)}"}` },
      { method: 'PUT', path: '/groups/physics/properties', body: '{"a": ' },
      { method: 'GET', path: '/groups?limit=-1' },
    ];
    for (const c of cases) {
      const r = await call(root, c);
      assert.ok(r.status >= 400 && r.status < 500, `${c.method} ${c.path} → ${r.status}`);
      assert.equal(r.json.status, r.status);
      assert.equal(typeof r.json.message, 'string');
    }
    assert.equal(await h.hub.ctx.groups.byName('ok'), undefined);
    assert.deepEqual((await h.hub.ctx.groups.byName('physics'))?.properties, { gpu: true });
  });
});

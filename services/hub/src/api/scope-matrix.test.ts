import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { issueApiToken } from './tokens.ts';

type Call = { method: string; path: string; body?: unknown; accept?: string };

describe('scope matrix and bad input (real Postgres)', () => {
  let h: Harness;
  /** Tokens of the admin `root` holding exactly the named scopes. */
  const exact = async (scopes: string[], owner = 'root') => {
    const u = await h.hub.ctx.users.byName(owner);
    assert.ok(u, owner);
    return (await issueApiToken(h.hub.ctx, u, { scopes })).token;
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
    return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
  };

  before(async () => {
    h = await startHarness();
    await h.addUser('root', 'root-password', true);
    await h.addUser('alice', 'alice-password');
    await h.addUser('bob', 'bob-password');
    const bob = await h.hub.ctx.users.byName('bob');
    assert.ok(bob);
    await h.hub.ctx.groups.syncUserGroups(bob.id, ['physics']);
  });
  after(() => h?.close());

  // Each endpoint, the scope it needs, and the status that means "passed the scope check".
  const matrix: { call: () => Promise<Call>; scope: string; ok: number[] }[] = [
    { scope: 'read:users', ok: [200], call: async () => ({ method: 'GET', path: '/users/alice' }) },
    { scope: 'list:users', ok: [200], call: async () => ({ method: 'GET', path: '/users' }) },
    { scope: 'read:hub', ok: [200], call: async () => ({ method: 'GET', path: '/info' }) },
    {
      scope: 'admin:users',
      ok: [201],
      call: async () => ({ method: 'POST', path: `/users/new-${Math.random().toString(36).slice(2, 8)}` }),
    },
    {
      scope: 'admin:users',
      ok: [201],
      call: async () => ({ method: 'POST', path: '/users', body: { usernames: ['m-1', `m-${Date.now()}`] } }),
    },
    {
      scope: 'admin:users',
      ok: [200],
      call: async () => ({ method: 'PATCH', path: '/users/alice', body: {} }),
    },
    {
      scope: 'admin:users',
      ok: [204],
      call: async () => {
        const name = `gone-${Math.random().toString(36).slice(2, 8)}`;
        await h.hub.ctx.users.create(name, { admin: false, passwordHash: null });
        return { method: 'DELETE', path: `/users/${name}` };
      },
    },
    { scope: 'servers', ok: [201, 202], call: async () => ({ method: 'POST', path: '/users/alice/server' }) },
    { scope: 'servers', ok: [204], call: async () => ({ method: 'DELETE', path: '/users/alice/server' }) },
    {
      scope: 'read:servers',
      ok: [400],
      call: async () => ({ method: 'GET', path: '/users/alice/server/progress' }),
    },
    {
      scope: 'users:activity',
      ok: [200],
      call: async () => ({
        method: 'POST',
        path: '/users/alice/activity',
        body: { last_activity: new Date().toISOString() },
      }),
    },
    {
      scope: 'tokens',
      ok: [201],
      call: async () => ({ method: 'POST', path: '/users/alice/tokens', body: {} }),
    },
    { scope: 'read:tokens', ok: [200], call: async () => ({ method: 'GET', path: '/users/alice/tokens' }) },
    {
      scope: 'read:tokens',
      ok: [200],
      call: async () => {
        const alice = await h.hub.ctx.users.byName('alice');
        assert.ok(alice);
        const t = await issueApiToken(h.hub.ctx, alice, { note: 'matrix' });
        return { method: 'GET', path: `/users/alice/tokens/${t.id}` };
      },
    },
    {
      scope: 'tokens',
      ok: [204],
      call: async () => {
        const alice = await h.hub.ctx.users.byName('alice');
        assert.ok(alice);
        const t = await issueApiToken(h.hub.ctx, alice, { note: 'matrix' });
        return { method: 'DELETE', path: `/users/alice/tokens/${t.id}` };
      },
    },
  ];

  it('passes with exactly the needed scope and refuses 403 without it', async () => {
    for (const row of matrix) {
      const c = await row.call();
      const label = `${c.method} ${c.path} [${row.scope}]`;
      const yes = await call(await exact([row.scope]), c);
      assert.ok(
        row.ok.includes(yes.status),
        `${label} with the scope: ${yes.status} ${JSON.stringify(yes.json)}`,
      );
      const other = row.scope === 'read:hub' ? 'read:users' : 'read:hub';
      const no = await call(await exact([other]), await row.call());
      assert.equal(no.status, 403, `${label} without the scope`);
      assert.equal((no.json as { status: number }).status, 403);
    }
  });

  it('GET /users: filtered scopes see only their objects, on pages too', async () => {
    const names = async (token: string) => {
      const r = await call(token, { method: 'GET', path: '/users' });
      assert.equal(r.status, 200);
      return (r.json as { name: string }[]).map((u) => u.name).sort();
    };
    assert.deepEqual(await names(await exact(['list:users!user=alice'])), ['alice']);
    assert.deepEqual(await names(await exact(['admin:users!user=alice'])), ['alice']);
    assert.deepEqual(await names(await exact(['list:users!group=physics'])), ['bob']);
    const alice = await h.hub.ctx.users.byName('alice');
    assert.ok(alice);
    // As JupyterHub: a user's own role (self) reads their model but does not list users.
    const own = (await issueApiToken(h.hub.ctx, alice, {})).token;
    assert.equal((await call(own, { method: 'GET', path: '/users' })).status, 403);
    // list:users without read:users shows what read:users:name reveals (JupyterHub's access map): kind, name, admin.
    const bare = await call(await exact(['list:users!user=alice']), { method: 'GET', path: '/users' });
    assert.deepEqual(bare.json, [{ kind: 'user', name: 'alice', admin: false }]);
    const all = await names(await exact(['list:users']));
    assert.ok(all.includes('alice') && all.includes('bob') && all.includes('root'));

    const admin = await exact(['list:users']);
    const p = await call(admin, {
      method: 'GET',
      path: '/users?offset=1&limit=2',
      accept: 'application/jupyterhub-pagination+json',
    });
    assert.equal(p.status, 200);
    const body = p.json as {
      items: { name: string }[];
      _pagination: { offset: number; limit: number; total: number; next: { offset: number } | null };
    };
    assert.equal(body.items.length, 2);
    assert.equal(body._pagination.offset, 1);
    assert.equal(body._pagination.limit, 2);
    assert.equal(body._pagination.total, all.length);
    assert.equal(body._pagination.next?.offset, all.length > 3 ? 3 : undefined);
    const big = await call(admin, {
      method: 'GET',
      path: '/users?limit=100000',
      accept: 'application/jupyterhub-pagination+json',
    });
    assert.equal((big.json as { _pagination: { limit: number; next: unknown } })._pagination.limit, 200);
    assert.equal((big.json as { _pagination: { next: unknown } })._pagination.next, null);

    const filtered = await call(await exact(['list:users!user=bob']), {
      method: 'GET',
      path: '/users',
      accept: 'application/jupyterhub-pagination+json',
    });
    assert.equal((filtered.json as { _pagination: { total: number } })._pagination.total, 1);
  });

  it('filtered admin scopes act only on their users', async () => {
    const t = await exact(['admin:users!user=alice']);
    assert.equal((await call(t, { method: 'PATCH', path: '/users/alice', body: {} })).status, 200);
    assert.equal((await call(t, { method: 'PATCH', path: '/users/bob', body: {} })).status, 403);
    assert.equal((await call(t, { method: 'DELETE', path: '/users/bob' })).status, 403);
    assert.equal((await call(t, { method: 'GET', path: '/users/bob/tokens' })).status, 403);
    assert.equal(
      (await call(t, { method: 'POST', path: '/users', body: { usernames: ['alice', 'carol'] } })).status,
      403,
    );
  });

  it('only an admin can grant admin', async () => {
    const alice = await h.hub.ctx.users.byName('alice');
    assert.ok(alice);
    const own = (await issueApiToken(h.hub.ctx, alice, {})).token;
    assert.equal(
      (await call(own, { method: 'PATCH', path: '/users/alice', body: { admin: true } })).status,
      403,
    );
    assert.equal(
      (await call(own, { method: 'POST', path: '/users/eve', body: { admin: true } })).status,
      403,
    );
    const filtered = await exact(['admin:users!user=alice']);
    assert.equal(
      (await call(filtered, { method: 'PATCH', path: '/users/alice', body: { admin: true } })).status,
      403,
    );
    const root = await exact(['admin:users']);
    const ok = await call(root, { method: 'PATCH', path: '/users/alice', body: { admin: true } });
    assert.equal(ok.status, 200);
    assert.equal((ok.json as { admin: boolean }).admin, true);
    assert.equal((await h.hub.ctx.users.byName('alice'))?.admin, true);
    assert.equal(
      (await call(root, { method: 'PATCH', path: '/users/alice', body: { admin: false } })).status,
      200,
    );
    assert.equal((await h.hub.ctx.users.byName('alice'))?.admin, false);
  });

  it('creates, conflicts, refuses renames and self-deletion, deletes', async () => {
    const root = await exact(['admin:users']);
    const one = await call(root, { method: 'POST', path: '/users/dave' });
    assert.equal(one.status, 201);
    assert.equal((one.json as { name: string }).name, 'dave');
    assert.equal((await call(root, { method: 'POST', path: '/users/dave' })).status, 409);
    const many = await call(root, { method: 'POST', path: '/users', body: { usernames: ['dave', 'erin'] } });
    assert.equal(many.status, 201);
    assert.deepEqual(
      (many.json as { name: string }[]).map((u) => u.name),
      ['erin'],
    );
    const dup = await call(root, { method: 'POST', path: '/users', body: { usernames: ['dave', 'erin'] } });
    assert.equal(dup.status, 409);
    assert.equal((dup.json as { code: string }).code, 'USER_EXISTS');
    assert.equal(
      (await call(root, { method: 'PATCH', path: '/users/dave', body: { name: 'dan' } })).status,
      400,
    );
    assert.equal(
      (await call(root, { method: 'PATCH', path: '/users/dave', body: { name: 'dave' } })).status,
      200,
    );
    assert.equal((await call(root, { method: 'DELETE', path: '/users/root' })).status, 400);
    assert.equal((await call(root, { method: 'DELETE', path: '/users/dave' })).status, 204);
    assert.equal(await h.hub.ctx.users.byName('dave'), undefined);
    assert.equal((await call(root, { method: 'DELETE', path: '/users/dave' })).status, 404);
    assert.equal((await call(root, { method: 'PATCH', path: '/users/dave', body: {} })).status, 404);
  });

  it('deleting a user stops their running server first', async () => {
    const root = await exact(['admin:users']);
    await h.hub.ctx.users.create('frank', { admin: false, passwordHash: null });
    const frank = await h.hub.ctx.users.byName('frank');
    assert.ok(frank);
    const started = await h.hub.ctx.lifecycle.start(frank, '');
    assert.equal(started.status, 'ready');
    const hasRoute = async () => Object.keys(await h.routes.list()).some((p) => p.startsWith('/user/frank'));
    assert.ok(await hasRoute(), 'frank has a route');
    assert.equal((await call(root, { method: 'DELETE', path: '/users/frank' })).status, 204);
    assert.ok(!(await hasRoute()), 'the route went with the server');
    const left = await h.hub.ctx.db
      .selectFrom('servers')
      .select('id')
      .where('user_id', '=', frank.id)
      .execute();
    assert.equal(left.length, 0);
  });

  it('lists and reads tokens without the token or its hash; other users’ tokens are 404', async () => {
    const alice = await h.hub.ctx.users.byName('alice');
    const bob = await h.hub.ctx.users.byName('bob');
    assert.ok(alice && bob);
    const mine = await issueApiToken(h.hub.ctx, alice, { note: 'listed' });
    const bobs = await issueApiToken(h.hub.ctx, bob, { note: 'bob' });
    const root = await exact(['admin:users', 'tokens']);
    const list = await call(root, { method: 'GET', path: '/users/alice/tokens' });
    assert.equal(list.status, 200);
    const dump = JSON.stringify(list.json);
    assert.ok(!dump.includes(mine.token));
    assert.ok(!/[0-9a-f]{64}/.test(dump), 'no hashes');
    const ids = (list.json as { api_tokens: { id: string; user: string }[] }).api_tokens;
    assert.ok(ids.some((t) => t.id === mine.id));
    assert.ok(ids.every((t) => t.user === 'alice'));
    assert.equal((await call(root, { method: 'GET', path: `/users/alice/tokens/${bobs.id}` })).status, 404);
    assert.equal(
      (await call(root, { method: 'DELETE', path: `/users/alice/tokens/${bobs.id}` })).status,
      404,
    );
    for (const bad of ['x', 'a0', 'a99999999999', 'o1', '1']) {
      assert.equal(
        (await call(root, { method: 'GET', path: `/users/alice/tokens/${bad}` })).status,
        404,
        bad,
      );
    }
    assert.equal(
      (await call(root, { method: 'DELETE', path: `/users/alice/tokens/${mine.id}` })).status,
      204,
    );
    assert.equal(
      (await call(mine.token, { method: 'GET', path: '/user' })).status,
      403,
      'deleted token is dead',
    );
  });

  it('answers bad input with 4xx, never 500', async () => {
    const root = await exact(['admin:users', 'read:hub']);
    const cases: Call[] = [
      { method: 'GET', path: '/users/A' },
      { method: 'POST', path: '/users/-x' },
      { method: 'PATCH', path: '/users/%00', body: {} },
      { method: 'DELETE', path: '/users/..%2Fx' },
      { method: 'GET', path: '/users/.x/tokens' },
      { method: 'GET', path: '/users?offset=-1' },
      { method: 'GET', path: '/users?limit=0' },
      { method: 'GET', path: '/users?limit=abc' },
      { method: 'GET', path: '/users?offset=1e3' },
      { method: 'POST', path: '/users', body: { usernames: ['ok-name', 'Bad Name'] } },
      { method: 'POST', path: '/users', body: { usernames: [] } },
      { method: 'POST', path: '/users', body: { usernames: 'alice' } },
      { method: 'POST', path: '/users', body: { usernames: ['x'], extra: 1 } },
      { method: 'POST', path: '/users', body: {} },
      { method: 'POST', path: '/users', body: [] },
      { method: 'POST', path: '/users', body: '{"usernames": ' },
      { method: 'POST', path: '/users', body: '{"__proto__": {"admin": true}, "usernames": ["x"]}' },
      { method: 'POST', path: '/users/zed', body: { admin: 'yes' } },
      { method: 'POST', path: '/users/zed', body: { nope: true } },
      { method: 'PATCH', path: '/users/alice', body: { admin: 1 } },
      { method: 'PATCH', path: '/users/alice', body: { name: 5 } },
      { method: 'PATCH', path: '/users/alice', body: { name: 'Not Valid' } },
      { method: 'PATCH', path: '/users/alice', body: { groups: ['x'] } },
    ];
    for (const c of cases) {
      const r = await call(root, c);
      assert.ok(
        r.status >= 400 && r.status < 500,
        `${c.method} ${c.path} ${JSON.stringify(c.body)} → ${r.status}`,
      );
      assert.equal((r.json as { status: number }).status, r.status);
    }
    assert.equal(await h.hub.ctx.users.byName('zed'), undefined);
    assert.equal(await h.hub.ctx.users.byName('ok-name'), undefined, 'a bad name refuses the whole batch');
  });
});

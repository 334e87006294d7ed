import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { issueApiToken } from './tokens.ts';

describe('proxy, shutdown, metrics, user states and info (real Postgres)', () => {
  let h: Harness;
  const token = async (scopes?: string[], owner = 'root') => {
    const u = await h.hub.ctx.users.byName(owner);
    assert.ok(u);
    return (await issueApiToken(h.hub.ctx, u, scopes ? { scopes } : {})).token;
  };
  const call = async (
    t: string | undefined,
    method: string,
    path: string,
    body?: unknown,
    accept?: string,
  ) => {
    const headers: Record<string, string> = {};
    if (t) headers.authorization = `token ${t}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (accept) headers.accept = accept;
    const res = await fetch(`${h.base}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return {
      status: res.status,
      text,
      json: json as Record<string, unknown>,
      type: res.headers.get('content-type'),
    };
  };

  before(async () => {
    h = await startHarness();
    await h.addUser('root', 'root-password', true);
    for (const n of ['alice', 'bob', 'carol']) await h.addUser(n, `${n}-password`);
    const alice = await h.hub.ctx.users.byName('alice');
    assert.ok(alice);
    assert.equal((await h.hub.ctx.lifecycle.start(alice, '')).status, 'ready');
  });
  after(() => h?.close());

  it('GET /proxy shows the hub’s routes as JupyterHub does, paginated; other routes are left out', async () => {
    await h.routes.add('/not-ours', 'http://elsewhere:1');
    const t = await token(['proxy']);
    const r = await call(t, 'GET', '/hub/api/proxy');
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.json), ['/user/alice/'], JSON.stringify(r.json));
    const route = r.json['/user/alice/'] as {
      routespec: string;
      target: string;
      data: Record<string, unknown>;
    };
    assert.equal(route.routespec, '/user/alice/');
    assert.match(route.target, /^http:\/\//);
    assert.deepEqual(route.data, { user: 'alice', server_name: '' });
    assert.equal(r.json['/not-ours'], undefined);
    const p = await call(
      t,
      'GET',
      '/hub/api/proxy?limit=1',
      undefined,
      'application/jupyterhub-pagination+json',
    );
    const body = p.json as { items: Record<string, unknown>; _pagination: { total: number; limit: number } };
    assert.deepEqual(Object.keys(body.items), ['/user/alice/']);
    assert.equal(body._pagination.total, 1);
    assert.equal((await call(await token(['read:hub']), 'GET', '/hub/api/proxy')).status, 403);
  });

  it('POST /proxy (and PATCH without a new location) restores a lost route; a new location is refused', async () => {
    const t = await token(['proxy']);
    await h.routes.remove('/user/alice');
    assert.equal((await call(t, 'POST', '/hub/api/proxy')).status, 200);
    assert.ok(h.routes.routes.has('/user/alice'), 'POST synced the route back');
    await h.routes.remove('/user/alice');
    assert.equal((await call(t, 'PATCH', '/hub/api/proxy', {})).status, 200);
    assert.ok(h.routes.routes.has('/user/alice'), 'PATCH synced the route back');
    const moved = await call(t, 'PATCH', '/hub/api/proxy', { api_url: 'http://evil:8001' });
    assert.equal(moved.status, 400);
    assert.equal(moved.json.status, 400);
    assert.equal((await call(t, 'PATCH', '/hub/api/proxy', { other: 1 })).status, 400);
    assert.equal((await call(await token(['read:hub']), 'POST', '/hub/api/proxy')).status, 403);
  });

  it('GET /users?state=, name_filter and sort as JupyterHub', async () => {
    const t = await token(['list:users', 'read:users']);
    const names = async (q: string) => {
      const r = await call(t, 'GET', `/hub/api/users?${q}`);
      assert.equal(r.status, 200, q);
      return (r.json as unknown as { name: string }[]).map((u) => u.name);
    };
    assert.deepEqual(await names('state=active'), ['alice']);
    assert.deepEqual(await names('state=ready'), ['alice']);
    assert.deepEqual((await names('state=inactive')).sort(), ['bob', 'carol', 'root']);
    assert.deepEqual(await names('name_filter=AR'), ['carol']);
    assert.deepEqual(await names('name_filter=%25'), [], 'a % in the filter is a literal');
    assert.deepEqual(await names('sort=-name'), ['root', 'carol', 'bob', 'alice']);
    assert.deepEqual(await names('sort=name&state=inactive&limit=2'), ['bob', 'carol']);
    for (const q of ['state=running', 'sort=admin', 'state=active&state=ready']) {
      assert.equal((await call(t, 'GET', `/hub/api/users?${q}`)).status, 400, q);
    }
    const p = await call(
      t,
      'GET',
      '/hub/api/users?state=inactive',
      undefined,
      'application/jupyterhub-pagination+json',
    );
    assert.equal((p.json._pagination as { total: number }).total, 3);
  });

  it('GET /info reports Berth’s real version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const r = await call(await token(['read:hub']), 'GET', '/hub/api/info');
    assert.equal((r.json.spawner as { version: string }).version, pkg.version);
    assert.notEqual(pkg.version, 'unknown');
  });

  it('/hub/metrics needs read:metrics and shows the hub’s own metrics in Prometheus format', async () => {
    assert.equal((await call(undefined, 'GET', '/hub/metrics')).status, 403);
    assert.equal((await call(await token(['read:hub']), 'GET', '/hub/metrics')).status, 403);
    const alice = await token(undefined, 'alice');
    assert.equal((await call(alice, 'GET', '/hub/metrics')).status, 403, 'a plain user has no read:metrics');
    const t = await token(['read:metrics']);
    await call(await token(['proxy']), 'POST', '/hub/api/proxy');
    const r = await call(t, 'GET', '/hub/metrics');
    assert.equal(r.status, 200);
    assert.match(r.type ?? '', /^text\/plain/);
    const value = (line: RegExp) => {
      const m = r.text.split('\n').find((l) => line.test(l));
      assert.ok(m, `no line ${line} in\n${r.text.slice(0, 3000)}`);
      return Number(m.split(' ').at(-1));
    };
    assert.equal(value(/^jupyterhub_total_users /), 4);
    assert.equal(value(/^jupyterhub_running_servers /), 1);
    assert.ok(value(/^jupyterhub_server_spawn_duration_seconds_count\{status="success"/) >= 1);
    assert.ok(value(/^jupyterhub_proxy_add_duration_seconds_count\{status="success"\}/) >= 1);
    assert.ok(value(/^jupyterhub_check_routes_duration_seconds_count /) >= 1);
    assert.ok(value(/^jupyterhub_proxy_poll_duration_seconds_count /) >= 1);
    assert.ok(value(/^jupyterhub_hub_startup_duration_seconds_count /) === 1);
    assert.ok(
      value(
        /^jupyterhub_request_duration_seconds_count\{method="GET",handler="\/hub\/api\/users",code="200"\}/,
      ) >= 1,
      'requests are labelled by route pattern',
    );
    assert.ok(!r.text.includes('handler="/hub/api/users?'), 'never by raw URL');
    assert.ok(r.text.includes('jupyterhub_active_users{period="24h"}'));
    assert.ok(r.text.includes('process_resident_memory_bytes'));
  });

  it('POST /shutdown: refuses to stop servers or the proxy, then exits cleanly and leaves servers running', async () => {
    const t = await token(['shutdown']);
    assert.equal((await call(await token(['proxy']), 'POST', '/hub/api/shutdown')).status, 403);
    for (const body of [{ servers: true }, { proxy: true }, { servers: 'no' }, { now: true }]) {
      const r = await call(t, 'POST', '/hub/api/shutdown', body);
      assert.equal(r.status, 400, JSON.stringify(body));
    }
    assert.equal(h.hub.ctx.shutdown.requested, undefined);
    const asked = new Promise<string>((resolve) => h.hub.ctx.shutdown.onRequest(resolve));
    const r = await call(t, 'POST', '/hub/api/shutdown', { servers: false, proxy: false });
    assert.equal(r.status, 202);
    assert.deepEqual(r.json, { message: 'Shutting down Hub' });
    assert.equal(await asked, 'root');
    const alice = await h.hub.ctx.users.byName('alice');
    assert.ok(alice);
    assert.equal((await h.hub.ctx.servers.find(alice.id, ''))?.state, 'running');
    assert.ok(h.routes.routes.has('/user/alice'));
  });
});

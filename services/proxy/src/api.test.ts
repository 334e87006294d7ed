import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestProxy, type TestProxy, TOKEN } from './testing/harness.ts';
import { request } from './testing/http-client.ts';

type Routes = Record<string, Record<string, unknown>>;

describe('REST API routes', () => {
  let t: TestProxy;
  before(async () => {
    t = await startTestProxy();
  });
  after(() => t.close());
  beforeEach(async () => {
    for (const path of Object.keys((await t.api('GET', '/api/routes')).json() as Routes)) {
      await t.api('DELETE', `/api/routes${path.split('/').map(encodeURIComponent).join('/')}`);
    }
  });

  it('adds, lists, reads and removes a route in CHP shape', async () => {
    const before = Date.now();
    const add = await t.api('POST', '/api/routes/user/alice/', {
      target: 'http://alice:8888',
      user: 'alice',
      server_name: '',
      jupyterhub: true,
    });
    assert.equal(add.status, 201);

    const list = await t.api('GET', '/api/routes');
    assert.equal(list.status, 200);
    assert.match(String(list.headers['content-type']), /^application\/json/);
    const routes = list.json() as Routes;
    assert.deepEqual(Object.keys(routes), ['/user/alice']);
    const route = routes['/user/alice'] ?? {};
    assert.equal(route.target, 'http://alice:8888');
    assert.equal(route.user, 'alice');
    assert.equal(route.server_name, '');
    assert.equal(route.jupyterhub, true);
    const stamped = Date.parse(String(route.last_activity));
    assert.ok(stamped >= before - 1 && stamped <= Date.now() + 1);
    assert.equal(new Date(stamped).toISOString(), route.last_activity);

    for (const path of ['/api/routes/user/alice', '/api/routes/user/alice/']) {
      const one = await t.api('GET', path);
      assert.equal(one.status, 200);
      assert.deepEqual(one.json(), route);
    }

    const del = await t.api('DELETE', '/api/routes/user/alice');
    assert.equal(del.status, 204);
    assert.equal(del.text, '');
    assert.equal((await t.api('GET', '/api/routes/user/alice')).status, 404);
    assert.deepEqual((await t.api('GET', '/api/routes')).json(), {});
  });

  it('answers 204 when deleting a route that does not exist (idempotent)', async () => {
    assert.equal((await t.api('DELETE', '/api/routes/user/nobody')).status, 204);
  });

  it('replaces a route on a second POST, data included', async () => {
    await t.addRoute('/user/bob', 'http://bob:1', { user: 'bob', old: 1 });
    await t.addRoute('/user/bob/', 'http://bob:2', { user: 'bob' });
    const route = (await t.api('GET', '/api/routes/user/bob')).json() as Record<string, unknown>;
    assert.equal(route.target, 'http://bob:2');
    assert.equal(route.old, undefined);
  });

  it('keeps arbitrary extra data, and overrides a client-supplied last_activity', async () => {
    const data = {
      user: 'carol',
      n: 3,
      f: 1.5,
      no: null,
      list: [1, 'a', { b: false }],
      obj: { deep: { x: 'y' } },
    };
    await t.addRoute('/user/carol', 'https://carol:8443/prefix', {
      ...data,
      last_activity: '2000-01-01T00:00:00Z',
    });
    const route = (await t.api('GET', '/api/routes/user/carol')).json() as Record<string, unknown>;
    const { target, last_activity, ...extra } = route;
    assert.equal(target, 'https://carol:8443/prefix');
    assert.deepEqual(extra, data);
    assert.notEqual(last_activity, '2000-01-01T00:00:00.000Z');
    assert.ok(Date.parse(String(last_activity)) > Date.parse('2020-01-01'));
  });

  it('adds the root route with POST /api/routes and /api/routes/', async () => {
    await t.api('POST', '/api/routes', { target: 'http://hub:8081' });
    assert.deepEqual(Object.keys((await t.api('GET', '/api/routes')).json() as Routes), ['/']);
    await t.api('DELETE', '/api/routes/');
    assert.deepEqual((await t.api('GET', '/api/routes')).json(), {});
  });

  it('decodes route paths like CHP', async () => {
    await t.addRoute('/user/d%C3%A9j%C3%A0%20vu', 'http://x:1');
    await t.addRoute('/services/a%2Fb', 'http://y:1');
    const keys = Object.keys((await t.api('GET', '/api/routes')).json() as Routes).sort();
    assert.deepEqual(keys, ['/services/a/b', '/user/déjà vu']);
    assert.equal((await t.api('GET', '/api/routes/user/d%C3%A9j%C3%A0%20vu')).status, 200);
  });

  it('filters by inactive_since (and CHP’s inactiveSince)', async () => {
    await t.addRoute('/user/old', 'http://old:1');
    await sleep(20);
    const between = new Date().toISOString();
    await sleep(20);
    await t.addRoute('/user/new', 'http://new:1');

    const keys = async (query: string) =>
      Object.keys((await t.api('GET', `/api/routes?${query}`)).json() as Routes).sort();
    assert.deepEqual(await keys(`inactive_since=${encodeURIComponent(between)}`), ['/user/old']);
    assert.deepEqual(await keys(`inactiveSince=${encodeURIComponent(between)}`), ['/user/old']);
    assert.deepEqual(await keys('inactive_since=2000-01-01T00:00:00Z'), []);
    assert.deepEqual(await keys('inactive_since=2999-01-01T00:00:00Z'), ['/user/new', '/user/old']);
    assert.deepEqual(await keys('inactive_since='), ['/user/new', '/user/old']);
  });

  it('answers 400 for an invalid inactive_since date', async () => {
    for (const bad of ['yesterday', 'not-a-date', '2024-13-45T99:00:00Z']) {
      const res = await t.api('GET', `/api/routes?inactive_since=${bad}`);
      assert.equal(res.status, 400, bad);
      assert.deepEqual(res.json(), {
        status: 400,
        message: 'inactive_since must be an ISO 8601 date',
        code: 'INVALID_DATE',
      });
    }
  });

  it('answers 404 for an unknown route', async () => {
    const res = await t.api('GET', '/api/routes/user/nobody');
    assert.equal(res.status, 404);
    assert.equal((res.json() as { code: string }).code, 'NOT_FOUND');
  });
});

describe('REST API input validation', () => {
  let t: TestProxy;
  before(async () => {
    t = await startTestProxy();
  });
  after(() => t.close());

  const badBodies: Record<string, [string, string]> = {
    'malformed JSON': ['{"target": "http://x"', 'INVALID_JSON'],
    'JSON array': ['[{"target": "http://x"}]', 'INVALID_BODY'],
    'JSON null': ['null', 'INVALID_BODY'],
    'JSON string': ['"http://x"', 'INVALID_BODY'],
    'JSON number': ['42', 'INVALID_BODY'],
    'empty body': ['', 'INVALID_TARGET'],
    'empty object': ['{}', 'INVALID_TARGET'],
    'numeric target': ['{"target": 8888}', 'INVALID_TARGET'],
    'relative target': ['{"target": "/user/x"}', 'INVALID_TARGET'],
    'not a URL': ['{"target": "not a url"}', 'INVALID_TARGET'],
    'ftp target': ['{"target": "ftp://x/"}', 'INVALID_TARGET'],
    'javascript target': ['{"target": "javascript:alert(1)"}', 'INVALID_TARGET'],
    'file target': ['{"target": "file:///etc/passwd"}', 'INVALID_TARGET'],
    'target with credentials': ['{"target": "http://u:p@x/"}', 'INVALID_TARGET'],
    'target with fragment': ['{"target": "http://x/#f"}', 'INVALID_TARGET'],
    'invalid UTF-8 garbage': ['\u0000\u0001\u00ff{', 'INVALID_JSON'],
  };

  for (const [name, [body, code]] of Object.entries(badBodies)) {
    it(`answers 400 ${code} for ${name}`, async () => {
      const res = await t.api('POST', '/api/routes/user/x', body);
      assert.equal(res.status, 400);
      const json = res.json() as { status: number; message: string; code: string };
      assert.equal(json.status, 400);
      assert.equal(json.code, code);
      assert.equal(typeof json.message, 'string');
    });
  }

  it('stores nothing after bad input', async () => {
    assert.deepEqual((await t.api('GET', '/api/routes')).json(), {});
  });

  it('caps the body size with 413', async () => {
    const big = JSON.stringify({ target: 'http://x:1', pad: 'a'.repeat(70 * 1024) });
    const res = await t.api('POST', '/api/routes/user/big', big);
    assert.equal(res.status, 413);
    assert.equal((res.json() as { code: string }).code, 'BODY_TOO_LARGE');
    // Also when the size is not declared up front (chunked).
    const chunked = await request(t.proxy.apiPort, {
      method: 'POST',
      path: '/api/routes/user/big',
      headers: { authorization: `token ${TOKEN}`, 'transfer-encoding': 'chunked' },
      body: big,
    });
    assert.equal(chunked.status, 413);
    assert.equal((await t.api('GET', '/api/routes/user/big')).status, 404);
  });

  it('answers 405 with Allow for other methods on routes', async () => {
    for (const method of ['PUT', 'PATCH', 'HEAD', 'OPTIONS']) {
      const res = await t.api(method, '/api/routes/user/x');
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.allow, 'GET, POST, DELETE');
    }
  });

  it('answers 404 JSON for other paths', async () => {
    for (const path of ['/', '/api', '/api/route', '/api/routesx', '/api/users', '/_chp_healthz']) {
      const res = await t.api('GET', path);
      assert.equal(res.status, 404, path);
      assert.equal((res.json() as { status: number }).status, 404);
    }
  });

  it('answers 400 for a route path that is not valid percent-encoding', async () => {
    const res = await t.api('POST', '/api/routes/user/%E0%A4%A', { target: 'http://x:1' });
    assert.equal(res.status, 400);
    assert.equal((res.json() as { code: string }).code, 'INVALID_PATH');
  });
});

describe('REST API restart epoch', () => {
  it('names this run in /api/health and on every authenticated answer, and draws a new one at each start', async () => {
    const first = await startTestProxy();
    try {
      await first.addRoute('/user/alice', 'http://alice:8888');
      const health = await first.api('GET', '/api/health');
      assert.equal(health.status, 200);
      const body = health.json() as { status: string; epoch: string; started: string; routes: number };
      assert.equal(body.status, 'OK');
      assert.equal(body.epoch, first.proxy.epoch);
      assert.ok(Number.isFinite(Date.parse(body.started)));
      assert.equal(body.routes, 1);
      assert.equal(health.headers['x-berth-proxy-epoch'], first.proxy.epoch);
      for (const path of [
        '/api/routes',
        '/api/routes/user/alice',
        '/api/routes/user/nobody',
        '/api/nothing',
      ]) {
        const res = await first.api('GET', path);
        assert.equal(res.headers['x-berth-proxy-epoch'], first.proxy.epoch, path);
      }
      assert.equal((await first.api('POST', '/api/health')).status, 405);
      const refused = await first.api('GET', '/api/health', undefined, { authorization: 'token wrong' });
      assert.equal(refused.status, 403);
      assert.equal(
        refused.headers['x-berth-proxy-epoch'],
        undefined,
        'nothing for a client without the token',
      );
    } finally {
      await first.close();
    }
    const second = await startTestProxy();
    try {
      assert.notEqual(second.proxy.epoch, first.proxy.epoch);
      const body = (await second.api('GET', '/api/health')).json() as { epoch: string; routes: number };
      assert.equal(body.epoch, second.proxy.epoch);
      assert.equal(body.routes, 0);
    } finally {
      await second.close();
    }
  });
});

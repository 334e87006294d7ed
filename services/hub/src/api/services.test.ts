import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseRbacFile, RbacFileError, readServiceTokens } from '../authz/rbac-file.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { issueApiToken } from './tokens.ts';

const CULLER_TOKEN = 'c'.repeat(48);
const ADMIN_SVC_TOKEN = 'd'.repeat(48);

describe('services from the RBAC file (real Postgres)', () => {
  let h: Harness;
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
    return { status: res.status, json: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
  };
  const userToken = async (name: string, scopes?: string[]) => {
    const u = await h.hub.ctx.users.byName(name);
    assert.ok(u);
    return (await issueApiToken(h.hub.ctx, u, scopes ? { scopes } : {})).token;
  };

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-svc-'));
    for (const [f, t] of [
      ['culler.token', CULLER_TOKEN],
      ['admin.token', ADMIN_SVC_TOKEN],
    ] as const) {
      writeFileSync(join(dir, f), `${t}\n`);
      chmodSync(join(dir, f), 0o600);
    }
    writeFileSync(
      join(dir, 'rbac.yaml'),
      `
services:
  - name: idle-culler
    apiTokenFile: ${join(dir, 'culler.token')}
    info: { purpose: culls idle servers }
  - name: provisioner
    apiTokenFile: ${join(dir, 'admin.token')}
    url: http://provisioner:9000
    display: false
  - name: listed-only
roles:
  - name: jupyterhub-idle-culler-role
    scopes: [list:users, read:users:activity, read:servers, delete:servers]
    services: [idle-culler]
  - name: provisioning
    scopes: [admin:users]
    services: [provisioner]
`,
    );
    h = await startHarness({ env: { BERTH_RBAC_FILE: join(dir, 'rbac.yaml') } });
    await h.addUser('root', 'root-password', true);
    await h.addUser('alice', 'alice-password');
  });
  after(() => h?.close());

  it('a service token identifies the service with exactly its roles’ scopes', async () => {
    const me = await call(CULLER_TOKEN, 'GET', '/user');
    assert.equal(me.status, 200);
    assert.equal(me.json.kind, 'service');
    assert.equal(me.json.name, 'idle-culler');
    assert.deepEqual(me.json.roles, ['jupyterhub-idle-culler-role']);
    const scopes = me.json.scopes as string[];
    for (const s of ['list:users', 'read:users:activity', 'read:servers', 'delete:servers'])
      assert.ok(scopes.includes(s), s);
    assert.ok(!scopes.includes('admin:users') && !scopes.includes('start:servers'));
    assert.equal((await call('e'.repeat(48), 'GET', '/user')).status, 403, 'an unknown token is refused');
  });

  it('the culler’s role lets it list users and stop servers, and nothing more', async () => {
    const alice = await h.hub.ctx.users.byName('alice');
    assert.ok(alice);
    assert.equal((await h.hub.ctx.lifecycle.start(alice, '')).status, 'ready');
    const list = await call(CULLER_TOKEN, 'GET', '/users');
    assert.equal(list.status, 200);
    assert.ok((list.json as unknown as { name: string }[]).some((u) => u.name === 'alice'));
    assert.equal((await call(CULLER_TOKEN, 'POST', '/users/alice/server')).status, 403);
    assert.equal((await call(CULLER_TOKEN, 'POST', '/users/bob')).status, 403);
    assert.equal((await call(CULLER_TOKEN, 'GET', '/groups')).status, 403);
    assert.equal((await call(CULLER_TOKEN, 'DELETE', '/users/alice/server')).status, 204);
    assert.equal((await h.hub.ctx.servers.find(alice.id, ''))?.state, undefined);
  });

  it('a service with admin:users manages users but can never grant admin', async () => {
    assert.equal((await call(ADMIN_SVC_TOKEN, 'POST', '/users/carol')).status, 201);
    assert.equal((await call(ADMIN_SVC_TOKEN, 'POST', '/users/dan', { admin: true })).status, 403);
    assert.equal((await call(ADMIN_SVC_TOKEN, 'PATCH', '/users/carol', { admin: true })).status, 403);
    assert.equal((await h.hub.ctx.users.byName('carol'))?.admin, false);
    assert.equal(await h.hub.ctx.users.byName('dan'), undefined);
    assert.equal((await call(ADMIN_SVC_TOKEN, 'DELETE', '/users/carol')).status, 204);
  });

  it('GET /services and /services/{name}: JupyterHub shapes, scopes and filters', async () => {
    const root = await userToken('root');
    const all = await call(root, 'GET', '/services');
    assert.equal(all.status, 200);
    assert.deepEqual(Object.keys(all.json).sort(), ['idle-culler', 'listed-only', 'provisioner']);
    assert.deepEqual(all.json.provisioner, {
      kind: 'service',
      name: 'provisioner',
      admin: false,
      roles: ['provisioning'],
      url: 'http://provisioner:9000',
      prefix: '',
      command: [],
      pid: 0,
      info: {},
      display: false,
    });
    const one = await call(root, 'GET', '/services/idle-culler');
    assert.deepEqual(one.json.info, { purpose: 'culls idle servers' });
    assert.equal((await call(root, 'GET', '/services/nope')).status, 404);
    const alice = await userToken('alice');
    assert.equal((await call(alice, 'GET', '/services')).status, 403);
    assert.equal((await call(alice, 'GET', '/services/idle-culler')).status, 403);
    const filtered = await userToken('root', ['list:services!service=idle-culler']);
    const some = await call(filtered, 'GET', '/services');
    assert.deepEqual(Object.keys(some.json), ['idle-culler']);
    assert.deepEqual(some.json['idle-culler'], { kind: 'service', name: 'idle-culler', admin: false });
    const byName = await userToken('root', ['read:services!service=provisioner']);
    assert.equal((await call(byName, 'GET', '/services/provisioner')).status, 200);
    assert.equal((await call(byName, 'GET', '/services/idle-culler')).status, 403);
  });
});

describe('the RBAC file is checked at start', () => {
  it('refuses unknown scopes, redefined default roles, unknown services, duplicates', () => {
    const bad = [
      'roles: [{name: role, scopes: [read:everything]}]',
      'roles: [{name: admin, scopes: [read:hub]}]',
      'roles: [{name: role, scopes: [read:hub], services: [ghost]}]',
      'roles: [{name: role, scopes: []}, {name: role, scopes: []}]',
      'services: [{name: s}, {name: s}]',
      'roles: [{name: role, scopes: [read:hub], extra: 1}]',
      'services: [{name: "Bad Name"}]',
      'roles: [{name: role, scopes: ["read:users!host=x"]}]',
      '{',
    ];
    for (const text of bad) assert.throws(() => parseRbacFile(text, 'test'), RbacFileError, text);
    const ok = parseRbacFile(
      'roles: [{name: role, scopes: ["read:users!group=physics", "custom:thing"]}]',
      't',
    );
    assert.equal(ok.roles[0]?.name, 'role');
  });

  it('refuses a token file others can read, a short token, and a token shared by two services', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-svc-'));
    const file = (name: string, text: string, mode: number) => {
      writeFileSync(join(dir, name), text);
      chmodSync(join(dir, name), mode);
      return join(dir, name);
    };
    const open = file('open', 'x'.repeat(40), 0o644);
    assert.throws(
      () => readServiceTokens([{ name: 's', apiTokenFile: open, display: true, info: {} }], true),
      /readable/,
    );
    const short = file('short', 'x'.repeat(10), 0o600);
    assert.throws(
      () => readServiceTokens([{ name: 's', apiTokenFile: short, display: true, info: {} }], true),
      /shorter/,
    );
    const a = file('a', 'y'.repeat(40), 0o600);
    const b = file('b', 'y'.repeat(40), 0o600);
    assert.throws(
      () =>
        readServiceTokens(
          [
            { name: 's', apiTokenFile: a, display: true, info: {} },
            { name: 't', apiTokenFile: b, display: true, info: {} },
          ],
          true,
        ),
      /another service/,
    );
  });
});

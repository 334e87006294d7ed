import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { issueApiToken } from '../api/tokens.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import type { AuditEntry } from './audit-log.ts';

const PROVISIONER = 'p'.repeat(48);
const SIEM = 's'.repeat(48);

/** A service acting through the REST API is the actor of its audit entries, never a user or nobody. */
describe('audit log: services as actors (real Postgres)', () => {
  let h: Harness;
  let adminToken: string;
  const api = async (token: string, method: string, path: string, body?: unknown) => {
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

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-audit-svc-'));
    for (const [f, t] of [
      ['provisioner.token', PROVISIONER],
      ['siem.token', SIEM],
    ] as const) {
      writeFileSync(join(dir, f), `${t}\n`);
      chmodSync(join(dir, f), 0o600);
    }
    writeFileSync(
      join(dir, 'rbac.yaml'),
      `
services:
  - name: provisioner
    apiTokenFile: ${join(dir, 'provisioner.token')}
  - name: siem
    apiTokenFile: ${join(dir, 'siem.token')}
roles:
  - name: provisioning
    scopes: ["admin:users!user=carol", "admin:users!user=dan"]
    services: [provisioner]
  - name: audit-export
    scopes: [read:audit]
    services: [siem]
`,
    );
    h = await startHarness({ env: { BERTH_RBAC_FILE: join(dir, 'rbac.yaml') } });
    await h.addUser('root', 'root-password', true);
    await h.addUser('alice', 'alice-password');
    const root = await h.hub.ctx.users.byName('root');
    assert.ok(root);
    adminToken = (await issueApiToken(h.hub.ctx, root, {})).token;
  });
  after(() => h?.close());

  it('records what a service did, and what it was refused, with the service as actor', async () => {
    assert.equal((await api(PROVISIONER, 'POST', '/users/carol')).status, 201);
    assert.equal((await api(PROVISIONER, 'DELETE', '/users/alice')).status, 403);
    const r = await api(adminToken, 'GET', '/audit?actor=service:provisioner');
    assert.equal(r.status, 200);
    const got = (r.json as AuditEntry[]).map((e) => [
      e.action,
      e.outcome,
      e.actor,
      e.actor_kind,
      e.target_user,
    ]);
    assert.deepEqual(got, [
      ['user.delete', 'denied', 'service:provisioner', 'service', 'alice'],
      ['user.create', 'success', 'service:provisioner', 'service', 'carol'],
    ]);
    // Users are still users.
    assert.equal((await api(adminToken, 'POST', '/users/erin')).status, 201);
    const root = (await api(adminToken, 'GET', '/audit?action=user.create&actor=root')).json as AuditEntry[];
    assert.deepEqual(
      root.map((e) => [e.actor, e.actor_kind, e.target_user]),
      [['root', 'user', 'erin']],
    );
  });

  it('a service holding read:audit reads the log; one without it is refused', async () => {
    const r = await api(SIEM, 'GET', '/audit?action=user.');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.ok((r.json as AuditEntry[]).some((e) => e.actor === 'service:provisioner'));
    assert.equal((await api(PROVISIONER, 'GET', '/audit')).status, 403);
    assert.equal((await api(SIEM, 'GET', '/usage')).status, 403);
  });
});

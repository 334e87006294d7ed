import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { issueApiToken } from '../api/tokens.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';

describe('JSON bodies (real Postgres)', () => {
  let h: Harness;
  let token: string;
  const api = (path: string, method = 'GET', body?: string) =>
    fetch(`${h.base}/hub/api${path}`, {
      method,
      headers: { authorization: `token ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body } : {}),
    });

  before(async () => {
    h = await startHarness();
    await h.addUser('root', 'root-password', true);
    const root = await h.hub.ctx.users.byName('root');
    assert.ok(root);
    token = (await issueApiToken(h.hub.ctx, root, {})).token;
  });
  after(() => h?.close());

  it('takes an empty body with a JSON content type as no body, as JupyterHub does', async () => {
    const empty = (path: string, method: string) =>
      fetch(`${h.base}/hub/api${path}`, {
        method,
        headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
      });
    assert.equal((await empty('/groups/chemistry', 'POST')).status, 201);
    assert.equal((await empty('/groups/chemistry', 'DELETE')).status, 204);
    // A route that needs a body still says so, in JupyterHub's error shape.
    const props = await empty('/groups/chemistry/properties', 'PUT');
    assert.equal(props.status, 400);
    assert.equal(((await props.json()) as { status: number }).status, 400);
  });

  // U+0000 cannot be stored by Postgres: found by schemathesis as a 500; now a 400 before any write.
  it('refuses U+0000 in JSON bodies, in values and in keys, with a 400', async () => {
    assert.equal((await api('/groups/physics', 'POST')).status, 201);
    for (const body of ['{"a":"x\\u0000y"}', '{"\\u0000":1}', '{"a":[{"b":"\\u0000"}]}']) {
      const res = await api('/groups/physics/properties', 'PUT', body);
      assert.equal(res.status, 400, body);
      assert.equal(((await res.json()) as { status: number }).status, 400);
    }
    const note = await api('/users/root/tokens', 'POST', '{"note":"\\u0000"}');
    assert.equal(note.status, 400);
    // An escaped backslash before "u0000" is just text.
    assert.equal((await api('/groups/physics/properties', 'PUT', '{"a":"\\\\u0000"}')).status, 200);
  });

  it('refuses U+0000 in the audit log filters with a 400', async () => {
    for (const q of ['actor=%00', 'user=a%00b']) assert.equal((await api(`/audit?${q}`)).status, 400, q);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import vm from 'node:vm';
import type { StorageAction, StorageOutcome } from '../spawner/spawner.ts';
import { BrowserClient, login, xsrfFrom } from '../testing/browser-client.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { ListeningSpawner } from '../testing/listening-spawner.ts';
import { assertEscaped, XSS } from '../testing/xss.ts';
import { FORMS_JS } from './forms-script.ts';

/** Records what the hub is asked to do with a deleted user's home volumes. */
class StorageRecordingSpawner extends ListeningSpawner {
  readonly disposed: [string, StorageAction][] = [];
  async disposeStorage(user: string, action: StorageAction): Promise<StorageOutcome[]> {
    this.disposed.push([user, action]);
    return [];
  }
}

interface FakeField {
  name: string;
  type: string;
  value: string;
  checked: boolean;
  disabled: boolean;
}

/** The delete form of one user's row, read from the page as a browser would see its fields. */
function deleteForm(page: string, user: string) {
  const row = new RegExp(`<tr data-user="${user}">[\\s\\S]*?</tr>`).exec(page)?.[0] ?? '';
  const form = /<form ([^>]*data-method="DELETE"[^>]*)>([\s\S]*?)<\/form>/.exec(row);
  assert.ok(form, `a delete form for ${user}`);
  const attrs = Object.fromEntries(
    [...(form[1] ?? '').matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
  );
  const fields: FakeField[] = [...(form[2] ?? '').matchAll(/<input ([^>]*)>/g)].map((m) => {
    const a = m[1] ?? '';
    const get = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(a)?.[1] ?? '';
    return {
      name: get('name'),
      type: get('type'),
      value: get('value'),
      checked: /\schecked\b/.test(` ${a}`),
      disabled: false,
    };
  });
  return { attrs, fields };
}

/**
 * Runs berth-forms.js on a stand-in for the form and returns the request it makes (URL, method, headers), so
 * the test proves what the page's own script sends, not what the test thinks it sends.
 */
async function requestTheScriptMakes(attrs: Record<string, string>, fields: FakeField[]) {
  let submit: ((e: unknown) => void) | undefined;
  let sent:
    | { url: string; init: { method: string; headers: Record<string, string>; body?: string } }
    | undefined;
  const form = {
    elements: Object.assign(fields, { namedItem: (n: string) => fields.find((f) => f.name === n) ?? null }),
    hasAttribute: (k: string) => k in attrs,
    getAttribute: (k: string) => attrs[k] ?? null,
    querySelector: (sel: string) =>
      sel === 'input[name="_xsrf"]' ? fields.find((f) => f.name === '_xsrf') : null,
    querySelectorAll: () => [],
  };
  const document = {
    addEventListener: (type: string, fn: (e: unknown) => void) => {
      if (type === 'submit') submit = fn;
    },
    getElementById: () => null,
  };
  const fetch = (url: string, init: never) => {
    sent = { url, init };
    return new Promise(() => {});
  };
  vm.runInNewContext(FORMS_JS, { document, fetch, window: {}, URLSearchParams });
  assert.ok(submit);
  submit({ target: form, preventDefault() {} });
  await Promise.resolve();
  assert.ok(sent, 'the script made a request');
  return sent;
}

describe('admin users page: delete with a choice of what happens to the home volumes (real Postgres)', () => {
  let h: Harness;
  const spawner = new StorageRecordingSpawner();
  before(async () => {
    h = await startHarness({ spawner });
    await h.addUser('root', 'correct horse battery', true);
    await h.addUser('alice', 'correct horse battery');
    for (const u of ['ann', 'bea', 'cal']) await h.addUser(u, 'correct horse battery');
  });
  after(() => h?.close());

  async function asRoot() {
    const c = new BrowserClient(h.base);
    await login(c, 'root', 'correct horse battery');
    return c;
  }

  it('offers archive, delete and keep, the configured policy checked, behind a confirmation', async () => {
    const c = await asRoot();
    const page = (await c.get('/hub/admin/users')).body;
    const { attrs, fields } = deleteForm(page, 'ann');
    assert.equal(attrs['data-query-fields'], 'volumes');
    const radios = fields.filter((f) => f.name === 'volumes');
    assert.deepEqual(
      radios.map((r) => [r.value, r.checked]),
      [
        ['archive', true],
        ['delete', false],
        ['keep', false],
      ],
    );
    assert.equal(h.hub.ctx.config.volumes.onUserDelete, 'archive');
    assert.match(page, /<details class="inline-details"><summary>Delete<span class="sr-only"> ann<\/span>/);
    assert.match(page, /<label for="vol-archive-ann">Archive their home volumes \(the default\)<\/label>/);
  });

  for (const [user, choice] of [
    ['ann', 'delete'],
    ['bea', 'archive'],
  ] as const) {
    it(`the admin's choice "${choice}" reaches DELETE /hub/api/users/${user}`, async () => {
      const c = await asRoot();
      const page = (await c.get('/hub/admin/users')).body;
      const { attrs, fields } = deleteForm(page, user);
      for (const f of fields) if (f.name === 'volumes') f.checked = f.value === choice;
      const sent = await requestTheScriptMakes(attrs, fields);
      assert.equal(sent.url, `/hub/api/users/${user}?volumes=${choice}`);
      assert.equal(sent.init.method, 'DELETE');
      assert.equal(sent.init.body, undefined);
      assert.equal(sent.init.headers['X-XSRFToken'], xsrfFrom(page));
      const res = await c.request('DELETE', sent.url, {
        headers: { ...sent.init.headers, 'sec-fetch-mode': 'cors' },
      });
      assert.equal(res.status, 204, res.body);
      assert.deepEqual(spawner.disposed.at(-1), [user, choice]);
      assert.equal(await h.hub.ctx.users.byName(user), undefined);
    });
  }

  it('"keep" reaches the API and leaves the volumes alone', async () => {
    const c = await asRoot();
    const page = (await c.get('/hub/admin/users')).body;
    const { attrs, fields } = deleteForm(page, 'cal');
    for (const f of fields) if (f.name === 'volumes') f.checked = f.value === 'keep';
    const sent = await requestTheScriptMakes(attrs, fields);
    assert.equal(sent.url, '/hub/api/users/cal?volumes=keep');
    const before = spawner.disposed.length;
    const res = await c.request('DELETE', sent.url, {
      headers: { ...sent.init.headers, 'sec-fetch-mode': 'cors' },
    });
    assert.equal(res.status, 204, res.body);
    assert.equal(spawner.disposed.length, before);
  });

  it('a stored name that slipped past validation is escaped in the new delete and block controls', async () => {
    // Names with markup are refused by the API and the login pipeline; this one is written straight to the DB.
    const evil = `ev"il${XSS}`;
    await h.hub.ctx.users.create(evil, { admin: false, passwordHash: null });
    const c = await asRoot();
    const page = (await c.get(`/hub/admin/users?q=${encodeURIComponent('ev"il')}`)).body;
    assert.match(page, /id="vol-archive-ev&quot;il&lt;img/);
    assert.match(page, /Block<span class="sr-only"> ev&quot;il&lt;img/);
    assertEscaped(page);
    assert.doesNotMatch(page, /ev"il/);
  });

  it('a plain user sees no delete form and the API refuses the call', async () => {
    const c = new BrowserClient(h.base);
    await login(c, 'alice', 'correct horse battery');
    const home = (await c.get('/hub/home')).body;
    const res = await c.request('DELETE', '/hub/api/users/root?volumes=delete', {
      headers: { accept: 'application/json', 'x-xsrftoken': xsrfFrom(home), 'sec-fetch-mode': 'cors' },
    });
    assert.equal(res.status, 403);
    assert.ok(await h.hub.ctx.users.byName('root'));
  });
});

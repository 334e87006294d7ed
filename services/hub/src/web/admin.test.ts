import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient, login, xsrfFrom } from '../testing/browser-client.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { assertEscaped, XSS } from '../testing/xss.ts';

/** What berth-forms.js does for a form: a JSON call to the REST API with the page's XSRF token in a header. */
async function apiCall(c: BrowserClient, page: string, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = {
    accept: 'application/json',
    'x-xsrftoken': xsrfFrom(page),
    'sec-fetch-mode': 'cors',
  };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return c.request(method, path, body === undefined ? { headers } : { headers, body: JSON.stringify(body) });
}

describe('admin, tokens and announcement pages (real Postgres)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.addUser('root', 'correct horse battery', true);
    await h.addUser('alice', 'correct horse battery');
    for (let i = 0; i < 30; i++)
      await h.hub.ctx.users.create(`user-${String(i).padStart(2, '0')}`, {
        admin: false,
        passwordHash: null,
      });
  });
  after(() => h?.close());

  async function as(name: string): Promise<BrowserClient> {
    const c = new BrowserClient(h.base);
    await login(c, name, 'correct horse battery');
    return c;
  }

  it('keeps a plain user out of every admin page', async () => {
    const c = await as('alice');
    for (const p of [
      '/hub/admin',
      '/hub/admin/users',
      '/hub/admin/servers',
      '/hub/admin/groups',
      '/hub/admin/announcement',
      '/hub/admin/audit',
      '/hub/admin/usage',
      '/hub/admin/usage.csv',
      '/hub/admin/profiles',
    ]) {
      const res = await c.get(p);
      assert.equal(res.status, 403, p);
      assert.doesNotMatch(res.body, /user-00/);
    }
  });

  it('lists users by name, searches and paginates', async () => {
    const c = await as('root');
    const first = await c.get('/hub/admin/users');
    assert.equal(first.status, 200);
    assert.match(first.body, /1–25 of 32/);
    assert.match(first.body, /<tr data-user="alice">/);
    assert.match(first.body, /href="\/hub\/admin\/users\?offset=25" rel="next"/);
    const second = await c.get('/hub/admin/users?offset=25');
    assert.match(second.body, /26–32 of 32/);
    assert.match(second.body, /<tr data-user="user-29">/);
    const found = await c.get('/hub/admin/users?q=user-1');
    assert.match(found.body, /1–10 of 10/);
    assert.doesNotMatch(found.body, /data-user="alice"/);
    // LIKE wildcards match themselves.
    assert.match((await c.get('/hub/admin/users?q=%25')).body, /0–0 of 0/);
    const xss = await c.get(`/hub/admin/users?q=${encodeURIComponent(XSS)}`);
    assert.equal(xss.status, 200);
    assertEscaped(xss.body);
    assert.equal((await c.get('/hub/admin/users?offset=-1')).status, 400);
  });

  it('adds users and makes one an admin through the REST API calls the page makes', async () => {
    const c = await as('root');
    const page = (await c.get('/hub/admin/users')).body;
    assert.match(page, /data-api="\/hub\/api\/users" data-method="POST"/);
    const added = await apiCall(c, page, 'POST', '/hub/api/users', { usernames: ['carol', 'dave'] });
    assert.equal(added.status, 201, added.body);
    const promote = await apiCall(c, page, 'PATCH', '/hub/api/users/carol', { admin: true });
    assert.equal(promote.status, 200, promote.body);
    const after = (await c.get('/hub/admin/users?q=carol')).body;
    assert.match(after, /<th scope="row">carol <span class="badge">admin<\/span><\/th>/);
    assert.match(after, /Remove admin/);
    // A name that is not a name is refused, and its echo is escaped.
    const bad = await apiCall(c, page, 'POST', '/hub/api/users', { usernames: [XSS] });
    assert.equal(bad.status, 400);
    // Without the page's token the same call is refused.
    const forged = await c.request('POST', '/hub/api/users', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ usernames: ['eve'] }),
    });
    assert.equal(forged.status, 403);
    const del = await apiCall(c, page, 'DELETE', '/hub/api/users/dave');
    assert.equal(del.status, 204);
    assert.doesNotMatch((await c.get('/hub/admin/users?q=dave')).body, /data-user="dave"/);
  });

  it('lists every default server with start and stop, and start all / stop all', async () => {
    const c = await as('root');
    let page = (await c.get('/hub/admin/servers?q=alice')).body;
    assert.match(page, /<tr data-server="alice\/">[\s\S]*?state-stopped/);
    // A filtered list says so (and keeps the filter in its search box), so the footnote stays true.
    assert.match(page, /Only users whose name matches “alice” are shown/);
    assert.match(page, /<input id="q" name="q" type="search" value="alice"/);
    assert.doesNotMatch((await c.get('/hub/admin/servers')).body, /Only users whose name matches/);
    assert.match(page, /data-api="\/hub\/api\/users\/alice\/server" data-method="POST"/);
    assert.match(page, /data-bulk="form.start-server">Start all \(1\)/);
    const started = await apiCall(c, page, 'POST', '/hub/api/users/alice/server');
    assert.ok([201, 202].includes(started.status), started.body);
    await h.hub.ctx.lifecycle.settled((await h.hub.ctx.users.byName('alice')) as never, '');
    page = (await c.get('/hub/admin/servers?q=alice')).body;
    assert.match(page, /<tr data-server="alice\/">[\s\S]*?state-running/);
    assert.match(page, /data-api="\/hub\/api\/users\/alice\/server" data-method="DELETE"/);
    assert.match(page, /data-bulk="form.stop-server">Stop all \(1\)/);
    const stopped = await apiCall(c, page, 'DELETE', '/hub/api/users/alice/server');
    assert.equal(stopped.status, 204);
    assert.match((await c.get('/hub/admin/servers?q=alice')).body, /state-stopped/);
  });

  it('creates a group, adds and removes members, and deletes it through the calls the page makes', async () => {
    const c = await as('root');
    const page = (await c.get('/hub/admin/groups')).body;
    assert.match(page, /data-api="\/hub\/api\/groups\/" data-url-field="name" data-method="POST"/);
    const made = await apiCall(c, page, 'POST', '/hub/api/groups/physics', { users: ['alice'] });
    assert.equal(made.status, 201, made.body);
    const added = await apiCall(c, page, 'POST', '/hub/api/groups/physics/users', { users: ['user-00'] });
    assert.equal(added.status, 200, added.body);
    let listed = (await c.get('/hub/admin/groups')).body;
    const row = /<tr data-group="physics">[\s\S]*?<\/tr>/.exec(listed)?.[0] ?? '';
    assert.match(row, /<li>alice /);
    assert.match(row, /<li>user-00 /);
    assert.match(row, /aria-label="Remove alice from physics"/);
    const removed = await apiCall(c, page, 'DELETE', '/hub/api/groups/physics/users', { users: ['alice'] });
    assert.equal(removed.status, 200, removed.body);
    listed = (await c.get('/hub/admin/groups')).body;
    assert.doesNotMatch(/<tr data-group="physics">[\s\S]*?<\/tr>/.exec(listed)?.[0] ?? '', /<li>alice /);
    assert.equal((await apiCall(c, page, 'DELETE', '/hub/api/groups/physics')).status, 204);
    assert.doesNotMatch((await c.get('/hub/admin/groups')).body, /data-group="physics"/);
  });

  it('sets an announcement shown on login and home, escaped; only admins may set it', async () => {
    const root = await as('root');
    const page = (await root.get('/hub/admin/announcement')).body;
    const set = await apiCall(root, page, 'PUT', '/hub/api/announcement', {
      message: `Maintenance at 18:00 ${XSS}`,
    });
    assert.equal(set.status, 200, set.body);
    const anon = new BrowserClient(h.base);
    const loginPage = await anon.get('/hub/login');
    assert.match(
      loginPage.body,
      /<aside class="banner" aria-label="Announcement"><p>Maintenance at 18:00 &lt;img/,
    );
    assertEscaped(loginPage.body);
    const alice = await as('alice');
    const home = await alice.get('/hub/home');
    assert.match(home.body, /class="banner"[^>]*><p>Maintenance at 18:00/);
    assertEscaped(home.body);
    const refused = await apiCall(alice, home.body, 'PUT', '/hub/api/announcement', { message: 'hijack' });
    assert.equal(refused.status, 403);
    const cleared = await apiCall(root, page, 'PUT', '/hub/api/announcement', { message: '' });
    assert.equal(cleared.status, 200);
    assert.doesNotMatch((await anon.get('/hub/login')).body, /class="banner"/);
  });

  it('creates a token shown once, lists it with last use, and revokes it', async () => {
    const c = await as('alice');
    const page = (await c.get('/hub/token')).body;
    assert.match(page, /<label for="note">Note<\/label>/);
    assert.match(page, /value="servers!user=alice"/);
    assert.doesNotMatch(page, /value="admin:users"/, 'a plain user is not offered admin scopes');
    const created = await apiCall(c, page, 'POST', '/hub/api/users/alice/tokens', {
      note: `ci ${XSS}`,
      expires_in: 86400,
      scopes: ['read:users!user=alice'],
    });
    assert.equal(created.status, 201, created.body);
    const token = JSON.parse(created.body) as { token: string; id: string };
    const listed = (await c.get('/hub/token')).body;
    assert.match(listed, new RegExp(`<tr data-token="${token.id}">`));
    assert.match(listed, /ci &lt;img src=x/);
    assertEscaped(listed);
    // The table stacks on a phone: every cell says what it is, and the Revoke column is the actions column.
    const tokenRow = new RegExp(`<tr data-token="${token.id}">[\\s\\S]*?</tr>`).exec(listed)?.[0] ?? '';
    assert.match(listed, /<table class="tokens stack">/);
    for (const label of ['Kind', 'Scopes', 'Created', 'Expires', 'Last used']) {
      assert.match(tokenRow, new RegExp(`<td [^>]*data-label="${label}"`));
    }
    assert.match(tokenRow, /<td class="row-actions"><form [^>]*data-method="DELETE"/);
    assert.match(page, /<span data-field="expires_at" data-format="when">/);
    assert.ok(!listed.includes(token.token), 'the token itself is never shown again');
    // Using the token shows up as its last use.
    const used = await fetch(`${h.base}/hub/api/user`, {
      headers: { authorization: `token ${token.token}` },
    });
    assert.equal(used.status, 200);
    // The hub records a token's use after answering, so look until it shows (bounded).
    let times = 0;
    for (let i = 0; i < 50 && times < 3; i++) {
      const body = (await c.get('/hub/token')).body;
      const row = new RegExp(`<tr data-token="${token.id}">[\\s\\S]*?</tr>`).exec(body)?.[0] ?? '';
      times = (row.match(/<time datetime=/g) ?? []).length;
      if (times < 3) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(times, 3, 'created, expires and last used');
    const revoked = await apiCall(c, page, 'DELETE', `/hub/api/users/alice/tokens/${token.id}`);
    assert.equal(revoked.status, 204);
    assert.doesNotMatch((await c.get('/hub/token')).body, new RegExp(`data-token="${token.id}"`));
    assert.equal(
      (await fetch(`${h.base}/hub/api/user`, { headers: { authorization: `token ${token.token}` } })).status,
      403,
    );
  });

  it('shows the audit log with filters, and the usage report with a CSV download', async () => {
    const c = await as('root');
    const all = await c.get('/hub/admin/audit');
    assert.equal(all.status, 200);
    assert.match(all.body, /<table class="audit stack">/);
    assert.match(all.body, /<td data-label="Actor">root<\/td>/, 'root’s own actions are listed');
    const denied = await c.get('/hub/admin/audit?outcome=denied');
    assert.doesNotMatch(denied.body, /outcome-success/);
    const xss = await c.get(`/hub/admin/audit?actor=${encodeURIComponent(XSS)}`);
    assert.equal(xss.status, 200);
    assertEscaped(xss.body);
    assert.equal((await c.get('/hub/admin/audit?action=%3Cscript%3E')).status, 400);
    const usage = await c.get('/hub/admin/usage?by=user');
    assert.equal(usage.status, 200);
    assert.match(
      usage.body,
      /<tr><th scope="row">alice<\/th><td data-label="Server-hours">\d+\.\d{2}<\/td><td data-label="Servers">[1-9]/,
    );
    const csv = await c.get('/hub/admin/usage.csv?by=user');
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type') ?? '', /text\/csv/);
    assert.match(csv.body, /^user,server_hours,servers,from,to\r?\n/);
    assert.match(csv.body, /\nalice,/);
    assert.equal((await c.get('/hub/admin/usage?from=2026-13-01')).status, 400);
  });

  it('lists profiles with their pinned image and probe, adds one, retires and restores it; the picker escapes descriptions', async () => {
    const c = await as('root');
    let page = (await c.get('/hub/admin/profiles')).body;
    assert.match(page, /<h1 id="profiles-h">Profiles<\/h1>/);
    const image = `sha256:${'ab'.repeat(32)}`;
    const made = await apiCall(c, page, 'POST', '/hub/api/profiles', {
      name: 'big',
      display_name: 'Big',
      description: `Lots of memory ${XSS}`,
      image,
      cpu: 2,
      memory: '2G',
    });
    assert.equal(made.status, 201, made.body);
    page = (await c.get('/hub/admin/profiles')).body;
    const row = /<tr data-profile="big">[\s\S]*?<\/tr>/.exec(page)?.[0] ?? '';
    assert.match(row, /<code title="sha256:abab/);
    assert.match(row, /2 CPU · 2G/);
    assert.match(row, /Compatibility|probe/i);
    assertEscaped(page);
    // alice now has a choice: the picker lists both, with the payload as text.
    const alice = await as('alice');
    const picker = await alice.get('/hub/spawn');
    assert.equal(picker.status, 200);
    assert.match(picker.body, /<legend>Choose a profile<\/legend>/);
    assert.match(picker.body, /Lots of memory &lt;img src=x/);
    assertEscaped(picker.body);
    const home = await alice.get('/hub/home');
    assert.match(home.body, /<a class="button" href="\/hub\/spawn\/alice">Start my server<\/a>/);
    const none = await alice.postForm('/hub/spawn', { _xsrf: xsrfFrom(home.body) }, false);
    assert.equal(none.status, 400, 'with a choice to make, a start without one shows the picker again');
    assert.match(none.body, /Choose one of the profiles below/);
    const unknown = await alice.postForm('/hub/spawn', { _xsrf: xsrfFrom(home.body), profile: XSS }, false);
    assert.equal(unknown.status, 400);
    assertEscaped(unknown.body);
    // Retire: marked, offered for restore, gone from the picker.
    assert.equal((await apiCall(c, page, 'DELETE', '/hub/api/profiles/big')).status, 200);
    page = (await c.get('/hub/admin/profiles')).body;
    assert.match(/<tr data-profile="big"[\s\S]*?<\/tr>/.exec(page)?.[0] ?? '', /retired[\s\S]*Restore/);
    assert.doesNotMatch((await alice.get('/hub/home')).body, /href="\/hub\/spawn\/alice"/);
    assert.equal((await apiCall(c, page, 'POST', '/hub/api/profiles/big/restore')).status, 200);
    assert.equal((await apiCall(c, page, 'DELETE', '/hub/api/profiles/big')).status, 200);
  });

  it('gives every admin table labelled cells, so on a phone its rows stack instead of widening the page', async () => {
    const c = await as('root');
    for (const path of ['users', 'servers', 'groups', 'profiles', 'audit', 'usage?by=user']) {
      const page = (await c.get(`/hub/admin/${path}`)).body;
      const tables = [...page.matchAll(/<table( class="([^"]*)")?>[\s\S]*?<\/table>/g)];
      assert.ok(tables.length > 0, path);
      for (const t of tables) {
        assert.match(t[2] ?? '', /\bstack\b/, `${path}: the table stacks on a phone`);
        const cells = [...t[0].matchAll(/<td( [^>]*)?>/g)].map((m) => m[1] ?? '');
        for (const attrs of cells) {
          if (/colspan|row-actions|"empty"/.test(attrs)) continue;
          assert.match(attrs, /data-label="[^"]+"/, `${path}: <td${attrs}> has a label`);
        }
      }
    }
  });

  it('escapes a reflected payload in the login page’s next', async () => {
    const c = new BrowserClient(h.base);
    const res = await c.get(`/hub/login?next=${encodeURIComponent(`/hub/home"><script>alert(1)</script>`)}`);
    assert.equal(res.status, 200);
    assertEscaped(res.body);
    assert.doesNotMatch(res.body, /"><script>/);
    const offsite = await c.get(`/hub/login?next=${encodeURIComponent('javascript:alert(1)')}`);
    assert.match(offsite.body, /name="next" value="\/hub\/home"/);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  SpawnError,
  type Spawner,
  type SpawnerState,
  type SpawnerStatus,
  type SpawnRequest,
  type Started,
  type StorageAction,
  type StorageOutcome,
} from '../spawner/spawner.ts';
import { BrowserClient, login, xsrfFrom } from '../testing/browser-client.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { ListeningSpawner } from '../testing/listening-spawner.ts';
import { assertEscaped, XSS } from '../testing/xss.ts';

/**
 * A backend whose server named `broken` dies on start with markup in its error and in its log output (a
 * hostile image can print anything); every other server starts normally.
 */
class HostileOutputSpawner implements Spawner {
  readonly inner = new ListeningSpawner();
  async start(req: SpawnRequest, _signal?: AbortSignal): Promise<Started> {
    if (req.serverName === 'broken') {
      throw new SpawnError('EXITED_EARLY', `exited: ${XSS}`, { broken: true });
    }
    return this.inner.start(req);
  }
  stop(state: SpawnerState) {
    return state.broken ? Promise.resolve() : this.inner.stop(state);
  }
  status(state: SpawnerState): Promise<SpawnerStatus> {
    return state.broken ? Promise.resolve({ state: 'stopped', exitCode: 1 }) : this.inner.status(state);
  }
  async logs(_state: SpawnerState, _tail: number): Promise<string> {
    return `Traceback (most recent call last):\n  ${XSS}\nImportError: no module named jupyterhub`;
  }
  closeAll() {
    return this.inner.closeAll();
  }
  /** What the hub asked to do with home volumes: [user, action, server]. */
  readonly disposed: [string, StorageAction, string | undefined][] = [];
  async disposeStorage(user: string, action: StorageAction, serverName?: string): Promise<StorageOutcome[]> {
    this.disposed.push([user, action, serverName]);
    return [];
  }
}

describe('home and spawn pages (real Postgres)', () => {
  let h: Harness;
  const spawner = new HostileOutputSpawner();
  before(async () => {
    h = await startHarness({
      spawner,
      slowSpawnMs: 5_000,
      env: { BERTH_GPU_DEVICES: 'gpu-0' },
    });
    await h.addUser('alice', 'correct horse battery');
    await h.addUser('root', 'correct horse battery', true);
  });
  after(() => h?.close());

  async function user(name: string) {
    const u = await h.hub.ctx.users.byName(name);
    assert.ok(u, `${name} exists`);
    return u;
  }

  async function as(name: string): Promise<BrowserClient> {
    const c = new BrowserClient(h.base);
    await login(c, name, 'correct horse battery');
    return c;
  }

  it('shows the default server stopped, the admin-access notice, and no admin link to a plain user', async () => {
    const c = await as('alice');
    const home = await c.get('/hub/home');
    assert.equal(home.status, 200);
    assert.match(home.body, /<h1 id="servers-h">Your servers<\/h1>/);
    assert.match(home.body, /class="state state-stopped">stopped</);
    assert.match(home.body, /Start my server/);
    assert.match(home.body, /administrators of this hub can open your running servers/);
    assert.match(home.body, /<a href="\/hub\/token">Tokens<\/a>/);
    assert.doesNotMatch(home.body, /href="\/hub\/admin"/);
    assert.match(home.body, /<html lang="en">/);
    assert.match(home.body, /<main id="main"/);
    const root = await as('root');
    assert.match((await root.get('/hub/home')).body, /<a href="\/hub\/admin">Admin<\/a>/);
  });

  it('starts the default server, then lists it running with start time, Open and Stop', async () => {
    const c = await as('alice');
    const home = await c.get('/hub/home');
    const started = await c.postForm('/hub/spawn', { _xsrf: xsrfFrom(home.body) }, false);
    assert.equal(started.status, 303);
    assert.equal(started.headers.get('location'), '/hub/spawn-pending/alice');
    const after = await c.get('/hub/home');
    assert.match(after.body, /class="state state-running">running</);
    assert.match(after.body, /<td data-label="Started"><time datetime="\d{4}-/);
    assert.match(after.body, /<a class="button" href="\/user\/alice\/">Open<\/a>/);
    const stop = await c.postForm('/hub/stop', { _xsrf: xsrfFrom(after.body) }, false);
    assert.equal(stop.status, 303);
    assert.equal(await h.hub.ctx.servers.find((await user('alice')).id, ''), undefined);
  });

  it('creates a named server, lists it beside the default one, and stops it', async () => {
    const c = await as('alice');
    let home = await c.get('/hub/home');
    assert.match(home.body, /<label for="server_name">New named server<\/label>/);
    const res = await c.postForm(
      '/hub/spawn',
      { _xsrf: xsrfFrom(home.body), server_name: 'project-1' },
      false,
    );
    assert.equal(res.headers.get('location'), '/hub/spawn-pending/alice/project-1');
    home = await c.get('/hub/home');
    assert.match(home.body, /<tr data-server="project-1">/);
    assert.match(home.body, /<a class="button" href="\/user\/alice\/project-1\/">Open/);
    assert.match(home.body, /<tr data-server="">[\s\S]*state-stopped/);
    const pending = await c.get('/hub/spawn-pending/alice/project-1');
    assert.equal(
      pending.url.endsWith('/user/alice/project-1/'),
      true,
      'a running server is opened, not waited for',
    );
    await c.postForm('/hub/stop', { _xsrf: xsrfFrom(home.body), server_name: 'project-1' }, false);
    home = await c.get('/hub/home');
    // Stopped, it keeps its row: status, profile and last activity, with Start and Delete.
    const row = /<tr data-server="project-1">[\s\S]*?<\/tr>/.exec(home.body)?.[0] ?? '';
    assert.match(row, /class="state state-stopped">stopped</);
    assert.match(row, /<td data-label="Profile">default<\/td>/);
    assert.match(row, /<td data-label="Started"><span class="muted">—<\/span><\/td>/);
    assert.match(row, /<td data-label="Last activity"><time datetime="\d{4}-/);
    assert.match(row, /<button type="submit">Start <span class="sr-only">project-1<\/span><\/button>/);
    assert.match(row, /<summary>Delete<span class="sr-only"> project-1<\/span><\/summary>/);
    assert.match(
      row,
      /<form method="post" action="\/hub\/delete-server" class="confirm"><input type="hidden" name="_xsrf" value="[^"]+">/,
    );
    assert.match(
      row,
      /id="vol-archive-project-1" name="volumes" value="archive" checked><label for="vol-archive-project-1">Archive its home volume \(the default\)/,
    );
    assert.doesNotMatch(row, /href="\/user\/alice\/project-1\/"/, 'no Open for a stopped server');
    const alice = await user('alice');
    assert.equal((await h.hub.ctx.servers.record(alice.id, 'project-1'))?.state, 'stopped');
    // Started again from its row.
    const again = await c.postForm(
      '/hub/spawn',
      { _xsrf: xsrfFrom(home.body), server_name: 'project-1' },
      false,
    );
    assert.equal(again.headers.get('location'), '/hub/spawn-pending/alice/project-1');
    home = await c.get('/hub/home');
    assert.match(home.body, /<a class="button" href="\/user\/alice\/project-1\/">Open/);
    assert.match(
      home.body,
      /<summary>Delete<span class="sr-only"> project-1<\/span><\/summary>[\s\S]*?It is stopped first\./,
    );
  });

  it('deletes a named server (running or stopped) with the volume choice; XSRF, names and choices checked', async () => {
    const c = await as('alice');
    const alice = await user('alice');
    let home = await c.get('/hub/home');
    const x = xsrfFrom(home.body);
    // Without the XSRF token nothing happens.
    assert.equal((await c.postForm('/hub/delete-server', { server_name: 'project-1' }, false)).status, 403);
    assert.equal((await h.hub.ctx.servers.record(alice.id, 'project-1'))?.state, 'running');
    // Bad input: 400 pages that echo only escaped, nothing deleted.
    const bad = await c.postForm('/hub/delete-server', { _xsrf: x, server_name: XSS }, false);
    assert.equal(bad.status, 400);
    assertEscaped(bad.body);
    const shred = await c.postForm(
      '/hub/delete-server',
      { _xsrf: x, server_name: 'project-1', volumes: XSS },
      false,
    );
    assert.equal(shred.status, 400);
    assertEscaped(shred.body);
    assert.equal((await c.postForm('/hub/delete-server', { _xsrf: x, server_name: '' }, false)).status, 400);
    assert.equal(
      (await c.postForm('/hub/delete-server', { _xsrf: x, server_name: 'nope' }, false)).status,
      404,
    );
    assert.equal((await h.hub.ctx.servers.record(alice.id, 'project-1'))?.state, 'running');

    // A running server is stopped, then removed; "keep" leaves its volume alone.
    const before = spawner.disposed.length;
    const kept = await c.postForm(
      '/hub/delete-server',
      { _xsrf: x, server_name: 'project-1', volumes: 'keep' },
      false,
    );
    assert.equal(kept.status, 303);
    assert.equal(kept.headers.get('location'), '/hub/home');
    assert.equal(await h.hub.ctx.servers.record(alice.id, 'project-1'), undefined);
    assert.equal(spawner.disposed.length, before);
    home = await c.get('/hub/home');
    assert.doesNotMatch(home.body, /data-server="project-1"/);

    // A stopped one with "delete": only its own volume is deleted.
    await c.postForm('/hub/spawn', { _xsrf: x, server_name: 'scratch' }, false);
    await c.postForm('/hub/stop', { _xsrf: x, server_name: 'scratch' }, false);
    assert.equal((await h.hub.ctx.servers.record(alice.id, 'scratch'))?.state, 'stopped');
    const dropped = await c.postForm(
      '/hub/delete-server',
      { _xsrf: x, server_name: 'scratch', volumes: 'delete' },
      false,
    );
    assert.equal(dropped.status, 303);
    assert.equal(await h.hub.ctx.servers.record(alice.id, 'scratch'), undefined);
    assert.deepEqual(spawner.disposed.slice(before), [['alice', 'delete', 'scratch']]);
  });

  it('refuses a server name that is not a name, echoing it only escaped', async () => {
    const c = await as('alice');
    const home = await c.get('/hub/home');
    const res = await c.postForm('/hub/spawn', { _xsrf: xsrfFrom(home.body), server_name: XSS }, false);
    assert.equal(res.status, 400);
    assertEscaped(res.body);
    const picker = await c.get(`/hub/spawn?server_name=${encodeURIComponent(XSS)}`);
    assert.equal(picker.status, 400);
    assertEscaped(picker.body);
  });

  it('shows a failed start with its reason and the last log lines, escaped', async () => {
    const c = await as('alice');
    const home = await c.get('/hub/home');
    const res = await c.postForm('/hub/spawn', { _xsrf: xsrfFrom(home.body), server_name: 'broken' }, false);
    assert.equal(res.headers.get('location'), '/hub/spawn-pending/alice/broken');
    const page = await c.get('/hub/spawn-pending/alice/broken');
    assert.equal(page.status, 200);
    assert.match(page.body, /did not start/);
    assert.match(
      page.body,
      /<strong>Reason:<\/strong> exited: &lt;img src=x onerror=&quot;alert\(&#39;xss&#39;\)&quot;&gt;/,
    );
    assert.match(page.body, /ImportError: no module named jupyterhub/);
    assert.match(page.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assertEscaped(page.body);
    // Home shows why it failed, and lists the server stopped so it can be started again or deleted.
    const home2 = await c.get('/hub/home');
    assert.match(home2.body, /The last start of the server <strong>broken<\/strong> failed: exited: &lt;img/);
    assert.match(home2.body, /<tr data-server="broken">[\s\S]*?state-stopped[\s\S]*?<summary>Delete/);
    assertEscaped(home2.body);
  });

  it('cancels a start from the pending page (the stop form aborts the flight)', async () => {
    const c = await as('alice');
    const home = await c.get('/hub/home');
    // A start that is still pending when the page renders: the harness waits 5 s before answering pending,
    // so use the lifecycle directly and cancel through the page's form.
    const alice = await user('alice');
    const start = h.hub.ctx.lifecycle.start(alice, 'slow');
    const cancel = await c.postForm('/hub/stop', { _xsrf: xsrfFrom(home.body), server_name: 'slow' }, false);
    assert.equal(cancel.status, 303);
    await start;
    assert.equal(await h.hub.ctx.servers.find(alice.id, 'slow'), undefined);
  });

  it('shows in the picker whether a GPU profile can start now', async () => {
    const who = { source: 'api' as const, author: 'test' };
    const image = `sha256:${'cd'.repeat(32)}`;
    await h.hub.ctx.profiles.create(
      { name: 'cpu', display_name: 'CPU only', description: 'Plain.', image },
      who,
    );
    await h.hub.ctx.profiles.create(
      {
        name: 'gpu',
        display_name: 'With a GPU',
        description: 'One GPU.',
        image,
        gpus: 1,
        cpu: 2,
        memory: '4G',
      },
      who,
    );
    const c = await as('alice');
    let picker = (await c.get('/hub/spawn')).body;
    assert.match(picker, /<span class="gpu gpu-ok">1 GPU \(1 free\)<\/span>/);
    assert.match(picker, /id="profile-gpu" value="gpu" aria-describedby/);
    assert.match(picker, /2 CPUs · 4 GiB memory/);
    // Someone else's server holds the only GPU: the profile is shown, but cannot be chosen.
    const held = h.hub.ctx.gpus.allocate('someone/else', 1);
    assert.equal(held.ok, true);
    picker = (await c.get('/hub/spawn')).body;
    assert.match(picker, /<span class="gpu gpu-off">1 GPU: none free right now<\/span>/);
    assert.match(picker, /id="profile-gpu" value="gpu" disabled/);
    h.hub.ctx.gpus.release('someone/else');
    for (const name of ['cpu', 'gpu']) await h.hub.ctx.profiles.retire(name, who);
  });

  it('refuses start and stop without the XSRF token', async () => {
    const c = await as('alice');
    await c.get('/hub/home');
    assert.equal((await c.postForm('/hub/spawn', {}, false)).status, 403);
    assert.equal((await c.postForm('/hub/stop', { server_name: 'x' }, false)).status, 403);
  });

  it('serves the forms script as an external file (CSP script-src self, no inline script)', async () => {
    const c = await as('alice');
    const home = await c.get('/hub/home');
    assert.match(home.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.doesNotMatch(home.body, /<script>(?!alert)/);
    assert.match(home.body, /<script src="\/hub\/static\/berth-forms.js" defer><\/script>/);
    const js = await c.get('/hub/static/berth-forms.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.match(js.body, /X-XSRFToken/);
  });
});

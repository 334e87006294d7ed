import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { issueApiToken } from '../api/tokens.ts';
import type { SpawnerState, SpawnProgress, SpawnRequest, Started } from '../spawner/spawner.ts';
import { BrowserClient, login } from '../testing/browser-client.ts';
import { type Harness, startHarness } from '../testing/hub-harness.ts';
import { ListeningSpawner } from '../testing/listening-spawner.ts';

/** A healthy spawner whose starts wait until the test opens the gate. */
class GatedSpawner extends ListeningSpawner {
  #open!: () => void;
  #gate = new Promise<void>((r) => {
    this.#open = r;
  });
  waiting = 0;
  open(): void {
    this.#open();
  }
  close(): void {
    this.#gate = new Promise<void>((r) => {
      this.#open = r;
    });
  }
  override async start(req: SpawnRequest, _signal?: AbortSignal, progress?: SpawnProgress): Promise<Started> {
    this.waiting++;
    await this.#gate;
    this.waiting--;
    // A backend's own step (as the Swarm spawner reports its task's), relayed as progress.
    progress?.('Running on node n1');
    return super.start(req);
  }
  override async stop(state: SpawnerState): Promise<void> {
    return super.stop(state);
  }
}

interface Ev {
  progress: number;
  message: string;
  ready?: boolean;
  failed?: boolean;
  url?: string;
}

/** Reads server-sent events until the stream ends. */
async function readEvents(res: Response, onEvent?: (ev: Ev) => void): Promise<Ev[]> {
  const out: Ev[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let i = buf.indexOf('\n\n');
    while (i >= 0) {
      const chunk = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = chunk
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      if (data) {
        const ev = JSON.parse(data) as Ev;
        out.push(ev);
        onEvent?.(ev);
      }
      i = buf.indexOf('\n\n');
    }
  }
  return out;
}

describe('spawn limits and progress events', { timeout: 120_000 }, () => {
  let h: Harness;
  let spawner: GatedSpawner;
  const tokens: Record<string, string> = {};
  const users = ['alice', 'bob', 'carol', 'dave'];

  const api = (path: string, user: string, init: RequestInit = {}) =>
    fetch(`${h.base}/hub/api${path}`, {
      ...init,
      headers: { authorization: `token ${tokens[user]}`, ...(init.headers as object) },
    });

  before(async () => {
    spawner = new GatedSpawner();
    h = await startHarness({
      spawner,
      slowSpawnMs: 200,
      env: {
        BERTH_CONCURRENT_SPAWN_LIMIT: '2',
        BERTH_ACTIVE_SERVER_LIMIT: '3',
        BERTH_SERVERS_PER_USER: '1',
      },
    });
    for (const u of users) {
      await h.addUser(u, `${u}-has-a-long-password`);
      const row = await h.hub.ctx.users.byName(u);
      assert.ok(row);
      tokens[u] = (await issueApiToken(h.hub.ctx, row, {})).token;
    }
  });

  after(async () => {
    spawner?.open();
    for (const u of users) await api(`/users/${u}/server`, u, { method: 'DELETE' }).catch(() => undefined);
    await h?.close();
  });

  it('streams progress in JupyterHub shape, ending ready with the URL', async () => {
    const start = await api('/users/alice/server', 'alice', { method: 'POST' });
    assert.equal(start.status, 202);
    const res = await api('/users/alice/server/progress', 'alice');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = await readEvents(res, (ev) => {
      if (ev.progress === 30) spawner.open();
    });
    assert.deepEqual(events[0], { progress: 0, message: 'Server requested' });
    assert.ok(
      events.some((e) => e.progress === 45 && e.message === 'Running on node n1'),
      "the backend's own step is relayed",
    );
    const ps = events.map((e) => e.progress);
    assert.deepEqual(
      [...ps].sort((a, b) => a - b),
      ps,
      'progress never goes back',
    );
    const last = events.at(-1);
    assert.equal(last?.ready, true);
    assert.equal(last?.url, '/user/alice/');
    assert.equal(last?.progress, 100);
    spawner.close();
  });

  it('answers one ready event for a running server, and 400 for one that is not starting', async () => {
    const res = await api('/users/alice/server/progress', 'alice');
    const events = await readEvents(res);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.ready, true);
    const none = await api('/users/bob/server/progress', 'bob');
    assert.equal(none.status, 400);
    const other = await api('/users/alice/server/progress', 'bob');
    assert.equal(other.status, 403, "bob cannot watch alice's server");
  });

  it('refuses a start over the concurrent-spawn limit with 429 and Retry-After', async () => {
    assert.equal((await api('/users/bob/server', 'bob', { method: 'POST' })).status, 202);
    assert.equal((await api('/users/carol/server', 'carol', { method: 'POST' })).status, 202);
    assert.equal(spawner.waiting, 2);
    const third = await api('/users/dave/server', 'dave', { method: 'POST' });
    assert.equal(third.status, 429);
    assert.match(third.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal(((await third.json()) as { status: number }).status, 429);
    // Joining a start already in flight is not a new spawn.
    assert.equal((await api('/users/bob/server', 'bob', { method: 'POST' })).status, 202);
    spawner.open();
    const bob = await h.hub.ctx.users.byName('bob');
    const carol = await h.hub.ctx.users.byName('carol');
    assert.ok(bob && carol);
    assert.equal((await h.hub.ctx.lifecycle.settled(bob, ''))?.status, 'ready');
    assert.equal((await h.hub.ctx.lifecycle.settled(carol, ''))?.status, 'ready');
  });

  it('refuses a start over the global active-server limit with 429', async () => {
    const res = await api('/users/dave/server', 'dave', { method: 'POST' });
    assert.equal(res.status, 429, 'alice, bob and carol run: the limit of 3 is reached');
    assert.ok(res.headers.get('retry-after'));
    assert.equal((await api('/users/alice/server', 'alice', { method: 'DELETE' })).status, 204);
    assert.equal((await api('/users/dave/server', 'dave', { method: 'POST' })).status, 201);
  });

  it('refuses a second server for one user over the per-user limit with 400', async () => {
    const res = await api('/users/dave/servers/second', 'dave', { method: 'POST' });
    assert.equal(res.status, 400);
  });

  it('the spawn-pending page follows progress with a script file, never an inline script', async () => {
    for (const u of ['bob', 'carol', 'dave']) await api(`/users/${u}/server`, u, { method: 'DELETE' });
    spawner.close();
    const c = new BrowserClient(h.base);
    await login(c, 'alice', 'alice-has-a-long-password');
    await api('/users/alice/server', 'alice', { method: 'POST' });
    const page = await c.get('/hub/spawn-pending/alice');
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.body, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline scripts');
    assert.match(page.body, /<script src="\/hub\/static\/spawn-pending.js"/);
    const url = /data-progress-url="([^"]+)"/.exec(page.body)?.[1]?.replaceAll('&amp;', '&');
    assert.ok(url?.startsWith('/hub/api/users/alice/server/progress?_xsrf='), url);
    spawner.open();
    const stream = await c.get(url as string);
    assert.equal(stream.status, 200, stream.body);
    assert.match(stream.body, /"ready":true/);
    const bad = await c.get('/hub/api/users/alice/server/progress?_xsrf=forged');
    assert.equal(bad.status, 403, 'cookie auth needs a valid XSRF token');
    const js = await c.get('/hub/static/spawn-pending.js');
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.match(js.body, /EventSource/);
  });
});

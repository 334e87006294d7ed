import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient, login } from '../../services/hub/src/testing/browser-client.ts';
import { ComposeStack } from '../support/compose.ts';
import { run, runOk } from '../support/exec.ts';
import { readFile, startServer, writeFile } from '../support/jupyter.ts';

/**
 * The restart matrix, on the whole compose stack: a restart of any Berth service never loses a running server
 * or a file, and a crash mid-spawn never leaves a server pending forever.
 */
describe('restart matrix', { timeout: 1_200_000 }, () => {
  let stack: ComposeStack;
  let alice: BrowserClient;
  const pw = { alice: 'alice-has-a-long-password', bob: 'bob-has-a-long-password' };

  before(async () => {
    stack = await ComposeStack.create({ BERTH_POLL_INTERVAL_SECONDS: '2' });
    await stack.up();
    for (const [name, p] of Object.entries(pw)) {
      const r = await stack.berth(['user', 'add', name, '--password-stdin'], `${p}\n`);
      assert.equal(r.code, 0, r.stderr);
    }
    alice = new BrowserClient(stack.base, stack.dispatcher);
    await login(alice, 'alice', pw.alice);
  });

  after(async () => {
    if (!stack) return;
    if (process.env.BERTH_E2E_KEEP !== '1') await stack.down();
  });

  /** The container of a user's default server, as Docker sees it: id and running state. */
  async function serverContainer(user: string): Promise<{ id: string; running: boolean } | undefined> {
    const r = await runOk('docker', [
      'ps',
      '-a',
      '--no-trunc',
      '--filter',
      `label=org.berth.deployment=${stack.project}`,
      '--filter',
      `label=org.berth.user=${user}`,
      '--format',
      '{{.ID}} {{.State}}',
    ]);
    const [line] = r.stdout.split('\n').filter(Boolean);
    if (!line) return undefined;
    const [id = '', state] = line.split(' ');
    return { id, running: state === 'running' };
  }

  /** The server record's state as the database holds it (read with psql, so it works while the hub is down). */
  async function recordState(user: string): Promise<string> {
    const r = await stack.composeOk([
      'exec',
      '-T',
      'postgres',
      'psql',
      '-U',
      'berth',
      '-d',
      'berth',
      '-tAc',
      `select s.state from servers s join users u on u.id = s.user_id where u.name = '${user}' and s.name = ''`,
    ]);
    return r.stdout.trim();
  }

  async function hubUp(): Promise<void> {
    await stack.composeOk(['up', '-d', '--no-build', 'hub']);
    await stack.waitHealthy('hub', 120_000);
  }

  it("hub restarted while alice's server runs: same container, no new login, file intact", async () => {
    const lab = await startServer(alice, 'alice');
    assert.equal(lab.status, 200, `landed at ${lab.url}`);
    await writeFile(alice, 'alice', 'kept.txt', 'survives hub restarts');
    const before = await serverContainer('alice');
    assert.ok(before?.running);

    await stack.composeOk(['restart', '-t', '10', 'hub']);
    await stack.waitHealthy('hub', 120_000);

    assert.deepEqual(await serverContainer('alice'), before, 'the same container, still running');
    const home = await alice.get('/hub/home');
    assert.equal(new URL(home.url).pathname, '/hub/home', 'the session survived: no login page');
    assert.match(home.body, /state-running/);
    assert.equal(await readFile(alice, 'alice', 'kept.txt'), 'survives hub restarts');
    const again = await alice.get('/user/alice/lab');
    assert.equal(again.status, 200);
    assert.ok(!again.hops.some((u) => new URL(u).pathname === '/hub/login'), 'no re-login');
  });

  it('container killed while the hub is down: shown stopped after restart, starts again cleanly', async () => {
    const before = await serverContainer('alice');
    assert.ok(before?.running);
    await stack.composeOk(['stop', '-t', '10', 'hub']);
    await runOk('docker', ['kill', before.id]);
    await hubUp();

    // The hub reaps it at start: the route and the dead container are gone; the record stays, stopped (as
    // JupyterHub keeps a stopped server).
    assert.equal(await recordState('alice'), 'stopped');
    assert.equal(await serverContainer('alice'), undefined, 'the dead container was removed');
    const home = await alice.get('/hub/home');
    assert.match(home.body, /state-stopped/);
    assert.match(home.body, /stopped unexpectedly/);
    const gone = await alice.request('GET', '/user/alice/api/status');
    assert.equal(gone.status, 503, 'the hub answers for a stopped server');

    const lab = await startServer(alice, 'alice');
    assert.equal(lab.status, 200, `landed at ${lab.url}`);
    const after = await serverContainer('alice');
    assert.ok(after?.running);
    assert.notEqual(after.id, before.id);
    assert.equal(await readFile(alice, 'alice', 'kept.txt'), 'survives hub restarts');
  });

  it('a container that dies while the hub runs is noticed by the poll loop', async () => {
    const before = await serverContainer('alice');
    assert.ok(before?.running);
    await runOk('docker', ['kill', before.id]);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await recordState('alice')) !== 'stopped') {
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(await recordState('alice'), 'stopped', 'the record is marked stopped within a few polls');
    assert.equal(await serverContainer('alice'), undefined);
    const lab = await startServer(alice, 'alice');
    assert.equal(lab.status, 200);
  });

  it('hub killed mid-spawn: the spawn ends ready once the hub is back, never pending forever', async () => {
    const bob = new BrowserClient(stack.base, stack.dispatcher);
    await login(bob, 'bob', pw.bob);
    const token = (await stack.berth(['token', 'create', 'bob', '--note', 'restart-matrix'])).stdout.trim();
    assert.match(token, /^[0-9a-f]{64}$/);
    const spawn = stack
      .fetch(`${stack.base}/hub/api/users/bob/server`, {
        method: 'POST',
        headers: { authorization: `token ${token}` },
      })
      .then(
        (r) => r.status,
        () => 'connection lost',
      );
    // Kill the hub the moment bob's container runs: jupyterhub-singleuser needs a second or more to answer.
    let container: { id: string; running: boolean } | undefined;
    for (let i = 0; i < 600 && !container?.running; i++) {
      container = await serverContainer('bob');
      if (!container?.running) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(container?.running, 'bob container started');
    await runOk('docker', ['kill', await stack.containerId('hub')]);
    await spawn;
    assert.equal(await recordState('bob'), 'pending', 'the crash left the record pending');

    await hubUp();
    const deadline = Date.now() + 60_000;
    let state = await recordState('bob');
    while (Date.now() < deadline && state === 'pending') {
      await new Promise((r) => setTimeout(r, 500));
      state = await recordState('bob');
    }
    assert.equal(state, 'running', 'the interrupted spawn finished');
    assert.deepEqual(
      await serverContainer('bob'),
      container,
      'the container started before the crash is used',
    );
    const lab = await startServer(bob, 'bob');
    assert.equal(lab.status, 200, `bob landed at ${lab.url}`);
  });

  it('docker compose down, then up: home data intact, user servers reattached', async () => {
    const before = await serverContainer('alice');
    assert.ok(before?.running);
    const down = await stack.compose(['down', '-t', '10']);
    const left = await run('docker', [
      'ps',
      '-q',
      '--filter',
      `label=com.docker.compose.project=${stack.project}`,
    ]);
    assert.equal(
      left.stdout.trim(),
      '',
      `compose services are gone (down exited ${down.code}: ${down.stderr})`,
    );
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await serverContainer('alice'), before, 'user servers are not compose services');
    await stack.up();
    assert.deepEqual(await serverContainer('alice'), before, 'reattached, not restarted');
    const home = await alice.get('/hub/home');
    assert.equal(new URL(home.url).pathname, '/hub/home', 'sessions live in Postgres: still logged in');
    const lab = await startServer(alice, 'alice');
    assert.equal(lab.status, 200, `landed at ${lab.url}`);
    assert.equal(await readFile(alice, 'alice', 'kept.txt'), 'survives hub restarts');
  });
});

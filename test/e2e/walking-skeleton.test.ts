import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient, login, xsrfFrom } from '../../services/hub/src/testing/browser-client.ts';
import { ComposeStack } from '../support/compose.ts';
import { run } from '../support/exec.ts';
import { jupyterApi, readFile, startServer, writeFile } from '../support/jupyter.ts';

/**
 * The walking skeleton, end to end, on a real Docker engine: caddy (TLS) → proxy → hub → postgres, and a
 * stock `jupyterhub-singleuser` per user, reached through the OAuth round trip like a browser does.
 */
describe('walking skeleton: docker compose up, log in, get a Jupyter server', { timeout: 900_000 }, () => {
  let stack: ComposeStack;
  let alice: BrowserClient;

  before(async () => {
    stack = await ComposeStack.create();
    await stack.up();
    for (const [name, pw] of [
      ['alice', 'alice-has-a-long-password'],
      ['bob', 'bob-has-a-long-password'],
    ]) {
      const r = await stack.berth(['user', 'add', name as string, '--password-stdin'], `${pw}\n`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`created user ${name}`));
    }
    alice = new BrowserClient(stack.base, stack.dispatcher);
  });

  after(async () => {
    if (!stack) return;
    if (process.env.BERTH_E2E_KEEP !== '1') await stack.down();
  });

  it('serves only HTTPS: HTTP redirects, HSTS is sent', async () => {
    const plain = await fetch(`http://localhost:${stack.httpPort}/hub/login`, { redirect: 'manual' });
    assert.ok([301, 302, 307, 308].includes(plain.status), `status ${plain.status}`);
    assert.match(plain.headers.get('location') ?? '', /^https:\/\//);
    const secure = await stack.fetch(`${stack.base}/hub/login`);
    assert.equal(secure.status, 200);
    assert.match(secure.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
  });

  it('refuses the CLI for a bad name, and a second user of the same name', async () => {
    const bad = await stack.berth(['user', 'add', '../x', '--password-stdin'], 'pw-pw-pw-pw\n');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid user name/);
    const dup = await stack.berth(['user', 'add', 'alice', '--password-stdin'], 'pw-pw-pw-pw\n');
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /already exists/);
  });

  it('logs alice in through https://localhost with cookies and XSRF, and starts her server', async () => {
    const res = await login(alice, 'alice', 'alice-has-a-long-password');
    assert.equal(res.status, 200);
    assert.equal(new URL(res.url).pathname, '/hub/home');
    const landed = await startServer(alice, 'alice');
    assert.equal(landed.status, 200, `landed at ${landed.url}: ${landed.body.slice(0, 300)}`);
    const paths = landed.hops.map((u) => new URL(u).pathname);
    assert.ok(paths.includes('/hub/api/oauth2/authorize'), `went through OAuth: ${paths.join(' → ')}`);
    assert.ok(paths.includes('/user/alice/oauth_callback'), `came back with a code: ${paths.join(' → ')}`);
    assert.match(landed.body, /JupyterLab|jupyter-config-data/);
    assert.equal((await stack.userContainers(false)).length, 1);
  });

  it("reaches /user/alice/api/status through caddy → proxy → alice's container", async () => {
    const res = await jupyterApi(alice, 'GET', '/user/alice/api/status');
    assert.equal(res.status, 200, res.body.slice(0, 300));
    const status = JSON.parse(res.body) as { started: string };
    assert.ok(status.started, 'jupyter_server status has a start time');
  });

  it("does not let bob into alice's server", async () => {
    const bob = new BrowserClient(stack.base, stack.dispatcher);
    await login(bob, 'bob', 'bob-has-a-long-password');
    const api = await jupyterApi(bob, 'GET', '/user/alice/api/status');
    assert.ok([403, 404].includes(api.status), `api status ${api.status}`);
    const page = await bob.get('/user/alice/lab');
    assert.ok([403, 404].includes(page.status), `page ended ${page.status} at ${page.url}`);
    assert.ok(!page.body.includes('jupyter-config-data'));
  });

  it('keeps a file alice wrote across stop and start, and leaves no container after stop', async () => {
    await writeFile(alice, 'alice', 'kept.txt', 'data that must survive');

    const home = await alice.get('/hub/home');
    const stop = await alice.postForm('/hub/stop', { _xsrf: xsrfFrom(home.body) });
    assert.equal(stop.status, 200);
    assert.match(stop.body, /Start my server/);
    assert.deepEqual(await stack.userContainers(true), [], 'no container is left after stop');
    const gone = await alice.request('GET', '/user/alice/api/status');
    assert.equal(gone.status, 503, 'the hub answers for a stopped server');

    const again = await startServer(alice, 'alice');
    assert.equal(again.status, 200);
    assert.equal(await readFile(alice, 'alice', 'kept.txt'), 'data that must survive');
  });

  it('mints an API token with the CLI that works against the REST API', async () => {
    const r = await stack.berth(['token', 'create', 'alice', '--note', 'e2e']);
    assert.equal(r.code, 0, r.stderr);
    const token = r.stdout.trim();
    assert.match(token, /^[0-9a-f]{64}$/);
    const me = await stack.fetch(`${stack.base}/hub/api/users/alice`, {
      headers: { authorization: `token ${token}` },
    });
    assert.equal(me.status, 200);
    const model = (await me.json()) as { name: string; servers: Record<string, { ready: boolean }> };
    assert.equal(model.name, 'alice');
    assert.equal(model.servers['']?.ready, true);
    const del = await stack.fetch(`${stack.base}/hub/api/users/alice/server`, {
      method: 'DELETE',
      headers: { authorization: `token ${token}` },
    });
    assert.equal(del.status, 204);
    assert.deepEqual(await stack.userContainers(true), []);
  });

  it('publishes nothing but caddy on the host', async () => {
    const ps = await run('docker', [
      'ps',
      '--filter',
      `label=com.docker.compose.project=${stack.project}`,
      '--format',
      '{{.Names}} {{.Ports}}',
    ]);
    for (const line of ps.stdout.split('\n').filter(Boolean)) {
      const [name, ...ports] = line.split(' ');
      if (ports.join(' ').includes('->'))
        assert.match(name ?? '', /caddy/, `${name} publishes ${ports.join(' ')}`);
    }
  });
});

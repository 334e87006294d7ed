import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ComposeStack } from '../support/compose.ts';
import { run } from '../support/exec.ts';
import { PyTools } from '../support/pytools.ts';

type ServerModel = { ready: boolean; pending: string | null; last_activity: string | null };
type UserModel = { name: string; servers: Record<string, ServerModel> };

/**
 * Real clients from PyPI, unchanged, against a real Berth (the compose stack with stock singleuser servers):
 * jupyterhub-idle-culler culls the idle server and leaves the active one; JupyterHub's own HubAuth identifies
 * a Berth token and refuses a bad one. Then `berth doctor` in the hub container: it passes on the default
 * deployment with a server running, and fails once a secret file is made world-readable.
 */
describe('real clients and berth doctor against the compose stack', { timeout: 900_000 }, () => {
  let stack: ComposeStack;
  let py: PyTools;
  let rootToken: string;
  let api: string;

  const hub = (path: string, init: RequestInit = {}) =>
    stack.fetch(`${api}${path}`, {
      ...init,
      headers: { authorization: `token ${rootToken}`, 'content-type': 'application/json', ...init.headers },
    });
  const user = async (name: string) => (await (await hub(`/users/${name}`)).json()) as UserModel;
  const token = async (name: string, scopes?: string) => {
    const r = await stack.berth(['token', 'create', name, ...(scopes ? ['--scopes', scopes] : [])]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 180_000): Promise<T> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const v = await fn();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  before(async () => {
    stack = await ComposeStack.create();
    await stack.up();
    py = new PyTools(await stack.waitForCaddyRoot(10_000));
    api = `${stack.base}/hub/api`;
    for (const [name, admin] of [
      ['root', true],
      ['alice', false],
      ['bob', false],
    ] as const) {
      const r = await stack.berth(['user', 'add', name, ...(admin ? ['--admin'] : [])]);
      assert.equal(r.code, 0, r.stderr);
    }
    rootToken = await token('root');
    // One at a time, as a person would; a start the loaded machine lets time out is asked for again.
    for (const name of ['alice', 'bob']) {
      for (let attempt = 1; ; attempt++) {
        const r = await hub(`/users/${name}/server`, { method: 'POST', body: '{}' });
        assert.ok([201, 202, 400].includes(r.status), `start ${name}: ${r.status} ${await r.text()}`);
        const ready = await until(
          `${name}'s server`,
          async () => {
            const s = (await user(name)).servers[''];
            if (s?.ready) return true;
            return s ? undefined : false;
          },
          300_000,
        );
        if (ready) break;
        if (attempt === 2) {
          const logs = await stack.compose(['logs', '--tail', '30', 'hub']);
          assert.fail(`${name}'s server did not start twice\n${logs.stdout}`);
        }
      }
    }
  });

  after(async () => {
    py?.close();
    if (stack && process.env.BERTH_E2E_KEEP !== '1') await stack.down();
  });

  it('jupyterhub-idle-culler culls the idle server and leaves the active one', async () => {
    const timeout = 60;
    // Tokens first: `docker compose exec` is slow on a loaded machine, and bob's activity must be fresh when
    // the culler looks.
    const bobToken = await token('bob');
    // The scopes jupyterhub-idle-culler's README asks for, no more.
    const cullerToken = await token('root', 'list:users,read:users:activity,read:servers,delete:servers');
    // alice's server reported activity when it started and nothing since: wait until it is idle for well over
    // the culler's timeout. bob's server reports activity now, the way jupyterhub-singleuser does.
    await until(
      'alice idle',
      async () => {
        const last = (await user('alice')).servers['']?.last_activity;
        return last && Date.now() - Date.parse(last) > (timeout + 30) * 1000 ? true : undefined;
      },
      300_000,
    );
    const now = new Date().toISOString();
    const act = await stack.fetch(`${api}/users/bob/activity`, {
      method: 'POST',
      headers: { authorization: `token ${bobToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ last_activity: now, servers: { '': { last_activity: now } } }),
    });
    assert.equal(act.status, 200, await act.text());
    const culler = await py.start(
      `${stack.project}-culler`,
      ['python', '-m', 'jupyterhub_idle_culler', `--url=${api}`, `--timeout=${timeout}`, '--cull-every=3600'],
      { JUPYTERHUB_API_TOKEN: cullerToken },
    );
    let logs = '';
    try {
      await until('alice culled', async () => ((await user('alice')).servers[''] ? undefined : true), 90_000);
    } catch (e) {
      logs = await culler.logs();
      throw new Error(`${(e as Error).message}\nculler logs:\n${logs}`);
    } finally {
      logs = await culler.stop();
    }
    assert.match(logs, /Culling server alice/);
    assert.doesNotMatch(logs, /Traceback|Error processing/);
    assert.doesNotMatch(logs, /Culling server bob/, logs);
    const bob = (await user('bob')).servers[''];
    assert.equal(bob?.ready, true, `the active server is left running: ${JSON.stringify(bob)}\n${logs}`);
    const gone = await run('docker', ['ps', '-q', '--filter', `name=^${stack.project}-alice$`]);
    assert.equal(gone.stdout.trim(), '', "alice's container is gone");
    // The culler's stop is in the audit log, as the token's owner.
    const audit = (await (await hub('/audit?action=server.stop&user=alice')).json()) as { actor: string }[];
    assert.deepEqual(
      audit.map((e) => e.actor),
      ['root'],
    );
  });

  it("JupyterHub's HubAuth identifies a Berth token and refuses a bad one", async () => {
    const aliceToken = await token('alice');
    const script = [
      'import json, sys',
      'from jupyterhub.services.auth import HubAuth',
      `auth = HubAuth(api_url=${JSON.stringify(api)}, api_token="unused")`,
      'print(json.dumps([auth.user_for_token(t, use_cache=False) for t in sys.argv[1:]]))',
    ].join('\n');
    const r = await py.run(['python', '-c', script, aliceToken, `${aliceToken.slice(0, -4)}xxxx`]);
    assert.equal(r.code, 0, r.stderr);
    const [good, bad] = JSON.parse(r.stdout.trim().split('\n').pop() as string) as [
      { name: string; kind: string; scopes: string[] } | null,
      unknown,
    ];
    assert.equal(good?.name, 'alice');
    assert.equal(good?.kind, 'user');
    assert.ok(good?.scopes.includes('access:servers!user=alice'), JSON.stringify(good?.scopes));
    assert.equal(bad, null);
  });

  it('berth doctor passes on the default deployment, with a server running', async () => {
    const r = await stack.berth(['doctor']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const lines = r.stdout.split('\n').filter((l) => /^(PASS|WARN|FAIL) /.test(l));
    const status = new Map(lines.map((l) => [l.split(/\s+/)[1], l.split(/\s+/)[0]]));
    // What must pass on the default deployment, whatever the hub can see through the Docker API guard.
    for (const id of [
      'edge.public-url',
      'edge.tls',
      'edge.http-redirect',
      'edge.hsts',
      'secrets.cookie-secret',
      'secrets.proxy-token',
      'secrets.db-password',
      'secrets.hub-env',
      'secrets.tokens-hashed',
      'secrets.user-env',
      'accounts.admins',
      'accounts.login-throttle',
      'network.hub-egress',
      'network.server-isolation',
      'containers.hardening',
      'containers.server-config',
      'tokens.not-in-url',
    ]) {
      assert.equal(status.get(id), 'PASS', `${id}\n${r.stdout}`);
    }
    // Reported either way (their status depends on how the deployment is set up).
    for (const id of [
      'docker.access',
      'accounts.admin-access',
      'images.pinned',
      'images.running',
      'tls.internal',
      'network.published-ports',
    ]) {
      assert.ok(status.has(id), `${id} is reported\n${r.stdout}`);
    }
    assert.match(r.stdout, /containers\.hardening\s+[1-9]\d* running server/);
    assert.match(r.stdout, /accounts\.admins\s+1 admin\(s\): root/);
  });

  it('berth doctor fails when a secret file becomes world-readable, and passes once it is fixed', async () => {
    const image = process.env.BERTH_HUB_IMAGE ?? 'berth/hub:dev';
    const chmod = (mode: string) =>
      run('docker', [
        'run',
        '--rm',
        '--user',
        '0',
        '--network',
        'none',
        '--entrypoint',
        'chmod',
        '-v',
        `${stack.project}_hub-secrets:/s`,
        image,
        mode,
        '/s/cookie_secret',
      ]);
    assert.equal((await chmod('0644')).code, 0);
    const broken = await stack.berth(['doctor']);
    assert.equal(broken.code, 1, broken.stdout);
    assert.match(broken.stdout, /^FAIL\s+secrets\.cookie-secret\s+.*0644: readable by group or others/m);
    assert.equal((await chmod('0600')).code, 0);
    const fixed = await stack.berth(['doctor']);
    assert.equal(fixed.code, 0, fixed.stdout);
  });
});

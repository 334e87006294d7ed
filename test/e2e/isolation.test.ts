import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient, login } from '../../services/hub/src/testing/browser-client.ts';
import { ComposeStack } from '../support/compose.ts';
import { run, runOk } from '../support/exec.ts';
import { jupyterApi, startServer } from '../support/jupyter.ts';

/**
 * What a user can and cannot do, on the whole compose stack: spawn requests that try to choose anything about
 * the container are refused before Docker hears of them, and from inside a user container the process is
 * unprivileged and boxed in, and reaches the hub's API but not Postgres, the proxy's API, Docker or metadata.
 */
describe('isolation of user servers', { timeout: 1_200_000 }, () => {
  let stack: ComposeStack;
  let alice: BrowserClient;
  let bob: BrowserClient;
  const pids = 128;
  const pw = { alice: 'alice-has-a-long-password', bob: 'bob-has-a-long-password' };

  before(async () => {
    stack = await ComposeStack.create({ BERTH_PIDS_LIMIT: String(pids) });
    await stack.up();
    for (const [name, p] of Object.entries(pw)) {
      const r = await stack.berth(['user', 'add', name, '--password-stdin'], `${p}\n`);
      assert.equal(r.code, 0, r.stderr);
    }
    alice = new BrowserClient(stack.base, stack.dispatcher);
    bob = new BrowserClient(stack.base, stack.dispatcher);
    await login(alice, 'alice', pw.alice);
    await login(bob, 'bob', pw.bob);
  });

  after(async () => {
    if (!stack) return;
    if (process.env.BERTH_E2E_KEEP !== '1') await stack.down();
  });

  async function containerOf(user: string): Promise<string> {
    const r = await runOk('docker', [
      'ps',
      '-q',
      '--filter',
      `label=org.berth.deployment=${stack.project}`,
      '--filter',
      `label=org.berth.user=${user}`,
    ]);
    const id = r.stdout.trim();
    assert.ok(id, `${user} has a running container`);
    return id;
  }

  /** Run a command inside the user's container, as the user's server runs (uid, limits, network). */
  function inside(id: string, args: readonly string[]) {
    return run('docker', ['exec', id, ...args], { timeoutMs: 60_000 });
  }

  async function ipOn(service: string, network: string): Promise<string> {
    return ipOf(await stack.containerId(service), network);
  }

  async function ipOf(id: string, network: string): Promise<string> {
    const r = await runOk('docker', [
      'inspect',
      '-f',
      `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`,
      id,
    ]);
    return r.stdout.trim();
  }

  describe('spawn requests that choose anything are refused with 400 and leave no trace in Docker', () => {
    const bodies: Record<string, unknown> = {
      'an unlisted image': { image: 'evil/miner:1' },
      'the right repository with another digest': {
        image: `berth/singleuser@sha256:${'0'.repeat(64)}`,
      },
      latest: { image: 'berth/singleuser:latest' },
      privileged: { privileged: true },
      binds: { binds: ['/:/host'], volumes: { '/var/run/docker.sock': '/var/run/docker.sock' } },
      'host network': { network_mode: 'host' },
      env: { env: { LD_PRELOAD: '/tmp/x.so' } },
      cmd: { cmd: ['sh', '-c', 'id'] },
      'user 0': { user: '0', uid: 0 },
      'JupyterHub-style user_options': { user_options: { image: 'evil/miner:1' } },
      'a profile name that does not exist': { profile: 'no-such-profile' },
      'a real profile plus an image': { profile: 'default', image: 'evil/miner:1' },
      'a real profile plus privileged': { profile: 'default', privileged: true },
      'a real profile plus resources': { profile: 'default', mem_limit: '64G', cpu_limit: 64 },
    };
    let token: string;

    before(async () => {
      const r = await stack.berth(['token', 'create', 'alice', '--note', 'isolation']);
      assert.equal(r.code, 0, r.stderr);
      token = r.stdout.trim();
      // The hub probes a new profile image once after it starts (a short-lived container of its own): let that
      // finish first, so the only events that could appear below are ones the refused requests caused.
      const deadline = Date.now() + 120_000;
      for (;;) {
        const res = await stack.fetch(`${stack.base}/hub/api/profiles/default`, {
          headers: { authorization: `token ${token}` },
        });
        const probe = res.ok
          ? ((await res.json()) as { image_probe: { status: string } | null }).image_probe
          : null;
        const probes = await runOk('docker', [
          'ps',
          '-aq',
          '--filter',
          `label=org.berth.deployment=${stack.project}`,
          '--filter',
          'label=org.berth.probe=true',
        ]);
        if (probe && probe.status !== 'pending' && probes.stdout.trim() === '') {
          // Through the Docker API guard, as in production: the probe ran and found the image's jupyterhub.
          assert.equal(probe.status, 'compatible', JSON.stringify(probe));
          break;
        }
        assert.ok(
          Date.now() < deadline,
          `the default profile's image probe did not finish: ${JSON.stringify(probe)}`,
        );
        await new Promise((r) => setTimeout(r, 500));
      }
      // Docker's event times are whole seconds and the window below starts a second early: let the probe's
      // last events (die, destroy) fall out of it.
      await new Promise((r) => setTimeout(r, 2_500));
    });

    it('answers 400 to each, starts nothing, and Docker sees no event of this deployment', async () => {
      // Docker's event timestamps are whole seconds at the edges; leave a margin on both sides.
      const since = Math.floor(Date.now() / 1000) - 1;
      for (const [what, body] of Object.entries(bodies)) {
        const res = await stack.fetch(`${stack.base}/hub/api/users/alice/server`, {
          method: 'POST',
          headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        assert.equal(res.status, 400, `${what}: ${res.status} ${text.slice(0, 200)}`);
        assert.doesNotMatch(text, /stack|at .*\.ts/i, `${what}: no internals in the answer`);
      }
      const named = await stack.fetch(`${stack.base}/hub/api/users/alice/servers/x`, {
        method: 'POST',
        headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ image: 'evil/miner:1' }),
      });
      assert.equal(named.status, 400, 'named servers too');
      const me = await stack.fetch(`${stack.base}/hub/api/users/alice`, {
        headers: { authorization: `token ${token}` },
      });
      assert.deepEqual(((await me.json()) as { servers: object }).servers, {}, 'alice has no server');
      await new Promise((r) => setTimeout(r, 1500));
      const until = Math.ceil(Date.now() / 1000) + 1;
      const window = ['--since', String(since), '--until', String(until), '--format', '{{json .}}'];
      const labelled = await runOk('docker', [
        'events',
        ...window,
        '--filter',
        `label=org.berth.deployment=${stack.project}`,
      ]);
      assert.equal(labelled.stdout.trim(), '', `events of this deployment:\n${labelled.stdout}`);
      const vols = await runOk('docker', ['events', ...window, '--filter', 'type=volume']);
      assert.ok(!vols.stdout.includes(`${stack.project}-home`), `volume events:\n${vols.stdout}`);
      const ctrs = await runOk('docker', [
        'events',
        ...window,
        '--filter',
        'type=container',
        '--filter',
        'event=create',
      ]);
      assert.ok(!ctrs.stdout.includes(`"name":"${stack.project}-alice`), `container events:\n${ctrs.stdout}`);
      assert.deepEqual(await stack.userContainers(true), []);
    });
  });

  describe('from inside a user container', () => {
    let a: string;
    let b: string;

    before(async () => {
      for (const [c, user] of [
        [alice, 'alice'],
        [bob, 'bob'],
      ] as const) {
        const lab = await startServer(c, user);
        assert.equal(lab.status, 200, `${user} landed at ${lab.url}`);
      }
      a = await containerOf('alice');
      b = await containerOf('bob');
    });

    it('runs as a non-root user that cannot gain privileges or write to the image', async () => {
      const id = await inside(a, ['id', '-u']);
      assert.equal(id.code, 0, id.stderr);
      assert.notEqual(id.stdout.trim(), '0');
      const etc = await inside(a, ['sh', '-c', 'echo x > /etc/berth-probe']);
      assert.notEqual(etc.code, 0, 'writing to /etc fails');
      const status = await inside(a, ['cat', '/proc/self/status']);
      assert.match(status.stdout, /^NoNewPrivs:\s+1$/m);
      assert.match(status.stdout, /^CapEff:\s+0+$/m);
    });

    it('contains a fork bomb with the pids limit, and the server survives it', async () => {
      const script = [
        'import json, os, signal, time',
        "base = next(d for d in ('/sys/fs/cgroup/pids', '/sys/fs/cgroup') if os.path.exists(d + '/pids.max'))",
        "read = lambda f: open(base + '/' + f).read().strip()",
        'pid = os.fork()',
        'if pid == 0:',
        '    os.setsid()',
        // A bomb that keeps trying: every process forks forever, and waits a moment when the limit says no.
        '    while True:',
        '        try: os.fork()',
        '        except OSError: time.sleep(0.05)',
        'peak = 0',
        'end = time.time() + 6',
        'while time.time() < end:',
        "    peak = max(peak, int(read('pids.current')))",
        '    time.sleep(0.1)',
        'for _ in range(30):',
        '    try: os.killpg(pid, signal.SIGKILL)',
        '    except ProcessLookupError: break',
        '    time.sleep(0.1)',
        "print(json.dumps({'max': read('pids.max'), 'peak': peak}))",
      ].join('\n');
      const r = await inside(a, ['python3', '-c', script]);
      assert.equal(r.code, 0, r.stderr.slice(-500));
      const { max, peak } = JSON.parse(r.stdout) as { max: string; peak: number };
      assert.equal(max, String(pids), 'the container has the configured pids limit');
      assert.ok(peak >= pids - 5, `the bomb ran into the limit (peak ${peak} of ${pids} tasks)`);
      assert.ok(peak <= pids, `never more than ${pids} tasks (peak ${peak})`);
      // The limit held, the bomb is gone, and alice's server still answers.
      const after = await inside(a, [
        'python3',
        '-c',
        "import os; print(sum(1 for p in os.listdir('/proc') if p.isdigit()))",
      ]);
      assert.ok(Number(after.stdout.trim()) < 20, `leftover processes: ${after.stdout}`);
      const api = await jupyterApi(alice, 'GET', '/user/alice/api/status');
      assert.equal(api.status, 200);
    });

    it("reaches the hub's API, but not Postgres, the proxy's API, Docker or cloud metadata", async () => {
      const pg = await ipOn('postgres', `${stack.project}_backend`);
      const proxyBackend = await ipOn('proxy', `${stack.project}_backend`);
      const own = (await runOk('docker', ['inspect', '-f', '{{json .NetworkSettings.Networks}}', a])).stdout;
      const nets = JSON.parse(own) as Record<string, { Gateway: string }>;
      assert.deepEqual(
        Object.keys(nets),
        [`${stack.project}-alice-net`],
        "alice's server is alone on its network",
      );
      const gw = Object.values(nets)[0]?.Gateway ?? '';
      const proxyUsers = await ipOn('proxy', `${stack.project}-alice-net`);
      const targets: [string, string, number][] = [
        ['postgres by name', 'postgres', 5432],
        ['postgres by address', pg, 5432],
        ['the proxy API by name', 'proxy', 8001],
        ['the proxy API by alias', 'proxy-api', 8001],
        ["the proxy API on the proxy's address on alice's network", proxyUsers, 8001],
        ["the proxy API on the proxy's backend address", proxyBackend, 8001],
        ['the Docker API on the gateway (2375)', gw || '0.0.0.0', 2375],
        ['the Docker API on the gateway (2376)', gw || '0.0.0.0', 2376],
        ['cloud metadata', '169.254.169.254', 80],
        ['ECS metadata', '169.254.170.2', 80],
      ];
      const script = [
        'import json, socket, sys, os, urllib.request',
        'out = {}',
        'for name, host, port in json.loads(sys.argv[1]):',
        '    try:',
        '        socket.create_connection((host, port), timeout=2).close()',
        "        out[name] = 'open'",
        '    except OSError as e:',
        "        out[name] = 'closed: ' + type(e).__name__",
        "out['docker socket'] = 'present' if os.path.exists('/var/run/docker.sock') else 'absent'",
        // Internal TLS: the hub API is mTLS, so the server's own certificate and CA bundle (its SSL env).
        'import ssl',
        "ctx = ssl.create_default_context(cafile=os.environ['JUPYTERHUB_SSL_CLIENT_CA'])",
        "ctx.load_cert_chain(os.environ['JUPYTERHUB_SSL_CERTFILE'], os.environ['JUPYTERHUB_SSL_KEYFILE'])",
        "r = urllib.request.urlopen(os.environ['JUPYTERHUB_API_URL'], timeout=5, context=ctx)",
        'try:',
        "    urllib.request.urlopen(os.environ['JUPYTERHUB_API_URL'], timeout=5, context=ssl.create_default_context(cafile=os.environ['JUPYTERHUB_SSL_CLIENT_CA']))",
        "    out['hub api without a client certificate'] = 'open'",
        'except OSError as e:',
        "    out['hub api without a client certificate'] = 'closed: ' + type(e).__name__",
        'try:',
        "    urllib.request.urlopen(os.environ['JUPYTERHUB_API_URL'].replace('https://', 'http://'), timeout=5)",
        "    out['hub api over plain http'] = 'open'",
        'except Exception as e:',
        "    out['hub api over plain http'] = 'closed: ' + type(e).__name__",
        "out['hub api'] = [r.status, json.loads(r.read())['version']]",
        'print(json.dumps(out))',
      ].join('\n');
      const r = await inside(a, ['python3', '-c', script, JSON.stringify(targets)]);
      assert.equal(r.code, 0, r.stderr.slice(-500));
      const out = JSON.parse(r.stdout) as Record<string, unknown>;
      for (const [name] of targets) assert.match(String(out[name]), /^closed/, `${name}: ${out[name]}`);
      for (const name of ['hub api without a client certificate', 'hub api over plain http']) {
        assert.match(String(out[name]), /^closed/, `${name}: ${out[name]}`);
      }
      assert.equal(out['docker socket'], 'absent');
      assert.equal((out['hub api'] as [number, string])[0], 200);
      // The proxy's client side is there (it is how the proxy reaches the servers), its API is not.
      const client = await inside(a, [
        'python3',
        '-c',
        "import socket; socket.create_connection(('proxy', 8000), timeout=3).close(); print('open')",
      ]);
      assert.equal(client.stdout.trim(), 'open');
    });

    it('streams spawn progress as server-sent events through caddy and the proxy', async () => {
      const r = await stack.berth(['token', 'create', 'bob', '--note', 'progress']);
      const auth = { authorization: `token ${r.stdout.trim()}` };
      const stop = await stack.fetch(`${stack.base}/hub/api/users/bob/server`, {
        method: 'DELETE',
        headers: auth,
      });
      assert.equal(stop.status, 204);
      const start = await stack.fetch(`${stack.base}/hub/api/users/bob/server`, {
        method: 'POST',
        headers: auth,
      });
      assert.ok([201, 202].includes(start.status), `start ${start.status}`);
      const res = await stack.fetch(`${stack.base}/hub/api/users/bob/server/progress`, { headers: auth });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      const events = (await res.text())
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => JSON.parse(l.slice(6)) as { progress: number; ready?: boolean; url?: string });
      const last = events.at(-1);
      assert.equal(last?.ready, true, JSON.stringify(events));
      assert.equal(last?.url, '/user/bob/');
      b = await containerOf('bob');
    });

    it("cannot reach another user's server, by name or by address; the proxy can", async () => {
      const host = (await runOk('docker', ['inspect', '-f', '{{.Name}}', b])).stdout
        .trim()
        .replace(/^\//, '');
      const ip = await ipOf(b, `${stack.project}-bob-net`);
      assert.ok(ip, "bob's server has an address on its own network");
      const script = [
        'import socket, sys',
        'for host in sys.argv[1:]:',
        '    try:',
        '        socket.create_connection((host, 8888), timeout=3).close(); print(host, "open")',
        '    except OSError as e:',
        '        print(host, "closed", type(e).__name__)',
      ].join('\n');
      const r = await inside(a, ['python3', '-c', script, host, ip]);
      assert.equal(r.code, 0, r.stderr);
      for (const line of r.stdout.trim().split('\n')) assert.match(line, / closed /, line);
      // Bob's server is up and reachable for the proxy, which joins every server network.
      await bob.get('/user/bob/lab'); // a new server instance: a new OAuth round trip first
      const own = await jupyterApi(bob, 'GET', '/user/bob/api/status');
      assert.equal(own.status, 200);
    });
  });

  describe('the Docker API guard and the firewall, as a compromised hub meets them', () => {
    it('the hub holds no Docker socket, and the guard has no network', async () => {
      const [hub] = JSON.parse(
        (await runOk('docker', ['inspect', await stack.containerId('hub')])).stdout,
      ) as {
        Mounts: { Source: string; Destination: string }[];
        HostConfig: { GroupAdd: string[] | null };
        Config: { Env: string[] };
      }[];
      assert.ok(hub);
      for (const m of hub.Mounts)
        assert.doesNotMatch(`${m.Source} ${m.Destination}`, /docker\.sock$|docker\.sock /);
      assert.deepEqual(hub.HostConfig.GroupAdd ?? [], [], 'the hub joins no extra group (no docker group)');
      assert.ok(hub.Config.Env.includes('DOCKER_HOST=unix:///run/berth/docker-guard/docker.sock'));
      const guard = (
        await runOk('docker', [
          'inspect',
          '-f',
          '{{.HostConfig.NetworkMode}}',
          await stack.containerId('docker-guard'),
        ])
      ).stdout.trim();
      assert.equal(guard, 'none');
    });

    it('from inside the hub, the guard refuses a privileged container with a host bind, GET /info and an unfiltered list', async () => {
      const name = `${stack.project}-evil`;
      const labels = {
        'org.berth.managed': 'true',
        'org.berth.deployment': stack.project,
        'org.berth.user': 'mallory',
        'org.berth.server': '',
      };
      const body = {
        Image: 'berth/singleuser:lab',
        User: '0:0',
        Labels: labels,
        HostConfig: { Privileged: true, Binds: ['/:/host', '/var/run/docker.sock:/var/run/docker.sock'] },
      };
      const script = [
        "const http = require('http');",
        "const call = (method, path, body) => new Promise((resolve) => { const r = http.request({ socketPath: '/run/berth/docker-guard/docker.sock', method, path, headers: { 'content-type': 'application/json' } }, (res) => { let t = ''; res.on('data', (c) => (t += c)); res.on('end', () => resolve([res.statusCode, t])); }); r.on('error', (e) => resolve([0, String(e)])); r.end(body ? JSON.stringify(body) : undefined); });",
        '(async () => {',
        `  const out = [await call('POST', '/containers/create?name=${name}', ${JSON.stringify(body)}), await call('GET', '/info'), await call('GET', '/containers/json?all=1')];`,
        '  console.log(JSON.stringify(out));',
        '})();',
      ].join('\n');
      const r = await stack.compose(['exec', '-T', 'hub', 'node', '-e', script]);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as [number, string][];
      for (const [status, text] of out) {
        assert.equal(status, 403, text);
        assert.match(text, /berth docker guard/);
      }
      const made = await runOk('docker', ['ps', '-a', '-q', '--filter', `name=${name}`]);
      assert.equal(made.stdout.trim(), '', 'no container was created');
    });

    it('the firewall service installed the egress and host rules', {
      skip: process.getuid?.() !== 0 && 'reading iptables needs root',
    }, async () => {
      const egress = await runOk('iptables', ['-S', 'BERTH-EGRESS']);
      assert.match(egress.stdout, /-A BERTH-EGRESS -s 10\.212\.0\.0\/16 -d 169\.254\.0\.0\/16 -j DROP/);
      const input = await runOk('iptables', ['-S', 'BERTH-INPUT']);
      assert.match(input.stdout, /-A BERTH-INPUT -s 10\.213\.0\.0\/16 -j DROP/);
      assert.match((await runOk('iptables', ['-S', 'DOCKER-USER'])).stdout, /-A DOCKER-USER -j BERTH-EGRESS/);
      assert.match((await runOk('iptables', ['-S', 'INPUT'])).stdout, /-A INPUT -j BERTH-INPUT/);
      const firewall = await runOk('docker', [
        'ps',
        '-a',
        '--filter',
        `label=com.docker.compose.project=${stack.project}`,
        '--filter',
        'label=com.docker.compose.service=firewall',
        '--format',
        '{{.Status}}',
      ]);
      assert.match(firewall.stdout, /^Exited \(0\)/, firewall.stdout);
    });
  });
});

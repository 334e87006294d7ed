/**
 * Outbound internet per profile, on the whole compose stack: an admin adds a profile with `internet: true`;
 * alice's server started from it reaches a public host (deb.debian.org) but not cloud metadata, Postgres, a
 * service on the host or bob's server; bob's server, from the default profile, reaches nothing outside. The
 * `firewall` service of the stack installed the rules; the spawn went through the Docker API guard.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ComposeStack } from '../support/compose.ts';
import { runOk } from '../support/exec.ts';

describe('egress per profile on the compose stack', { timeout: 1_200_000 }, () => {
  let stack: ComposeStack;
  let listener: Server;
  let listenPort = 0;
  const tokens: Record<string, string> = {};

  before(async () => {
    stack = await ComposeStack.create();
    await stack.up();
    const image = (
      await runOk('docker', ['image', 'inspect', '-f', '{{.Id}}', 'berth/singleuser:lab'])
    ).stdout.trim();
    const profiles = [
      'profiles:',
      '  - name: web',
      '    display_name: JupyterLab with internet',
      `    image: ${image}`,
      '    internet: true',
      '',
    ].join('\n');
    const add = await stack.berth(['profiles', 'add', '-'], profiles);
    assert.equal(add.code, 0, `${add.stderr}\n${add.stdout}`);
    for (const name of ['alice', 'bob']) {
      const r = await stack.berth(['user', 'add', name, '--password-stdin'], `${name}-has-a-long-password\n`);
      assert.equal(r.code, 0, r.stderr);
      const t = await stack.berth(['token', 'create', name, '--note', 'egress']);
      assert.equal(t.code, 0, t.stderr);
      tokens[name] = t.stdout.trim();
    }
    // A service on the host, bound to every address.
    listener = createServer((s) => {
      s.on('error', () => undefined);
      s.end('hello\n');
    });
    await new Promise<void>((r) => listener.listen(0, '0.0.0.0', r));
    listenPort = (listener.address() as { port: number }).port;
  });

  after(async () => {
    listener?.close();
    if (stack && process.env.BERTH_E2E_KEEP !== '1') await stack.down();
  });

  /** Starts the user's server (with `body`) and waits until the progress stream says it is ready. */
  async function start(user: string, body: object): Promise<string> {
    const auth = { authorization: `token ${tokens[user]}` };
    const res = await stack.fetch(`${stack.base}/hub/api/users/${user}/server`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.ok([201, 202].includes(res.status), `start ${res.status} ${await res.text()}`);
    const progress = await stack.fetch(`${stack.base}/hub/api/users/${user}/server/progress`, {
      headers: auth,
    });
    const events = (await progress.text()).split('\n').filter((l) => l.startsWith('data: '));
    assert.match(events.at(-1) ?? '', /"ready":\s*true/, events.join('\n'));
    const ps = await runOk('docker', [
      'ps',
      '-q',
      '--filter',
      `label=org.berth.deployment=${stack.project}`,
      '--filter',
      `label=org.berth.user=${user}`,
    ]);
    return ps.stdout.trim();
  }

  async function ipOn(container: string, network: string): Promise<string> {
    const f = `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`;
    return (await runOk('docker', ['inspect', '-f', f, container])).stdout.trim();
  }

  /** From inside `container`: an HTTP GET of deb.debian.org, then a TCP connect to each target. */
  async function reach(
    container: string,
    targets: [string, string, number][],
  ): Promise<Record<string, string>> {
    const script = [
      'import json, socket, sys, urllib.request',
      'out = {}',
      'try:',
      "    out['internet'] = str(urllib.request.urlopen('http://deb.debian.org/debian/', timeout=20).status)",
      'except Exception as e:',
      "    out['internet'] = 'error: ' + type(e).__name__",
      'for name, host, port in json.loads(sys.argv[1]):',
      '    try:',
      '        socket.create_connection((host, port), timeout=3).close()',
      "        out[name] = 'open'",
      '    except OSError as e:',
      "        out[name] = 'closed: ' + type(e).__name__",
      'print(json.dumps(out))',
    ].join('\n');
    const r = await runOk('docker', ['exec', container, 'python3', '-c', script, JSON.stringify(targets)], {
      timeoutMs: 120_000,
    });
    return JSON.parse(r.stdout) as Record<string, string>;
  }

  it("the internet profile reaches deb.debian.org, but not metadata, Postgres, the host or bob's server", async () => {
    const alice = await start('alice', { profile: 'web' });
    const bob = await start('bob', {});
    const egressNet = `${stack.project}-egress`;
    const nets = JSON.parse(
      (await runOk('docker', ['inspect', '-f', '{{json .NetworkSettings.Networks}}', alice])).stdout,
    );
    assert.deepEqual(Object.keys(nets).sort(), [`${stack.project}-alice-net`, egressNet].sort());
    const gateway = (nets[egressNet] as { Gateway: string }).Gateway;
    const pg = await ipOn(await stack.containerId('postgres'), `${stack.project}_backend`);
    const bobIp = await ipOn(bob, `${stack.project}-bob-net`);
    const targets: [string, string, number][] = [
      ['cloud metadata', '169.254.169.254', 80],
      ['ECS metadata', '169.254.170.2', 80],
      ['postgres by address', pg, 5432],
      ['postgres by name', 'postgres', 5432],
      ['a host service via the egress gateway', gateway, listenPort],
      ['a host service via docker0', '172.17.0.1', listenPort],
      ["bob's server", bobIp, 8888],
    ];
    const out = await reach(alice, targets);
    assert.equal(out.internet, '200', JSON.stringify(out));
    for (const [name] of targets) assert.match(String(out[name]), /^closed/, `${name}: ${out[name]}`);
  });

  it('the default profile reaches nothing outside', async () => {
    const bob = (
      await runOk('docker', [
        'ps',
        '-q',
        '--filter',
        `label=org.berth.deployment=${stack.project}`,
        '--filter',
        'label=org.berth.user=bob',
      ])
    ).stdout.trim();
    const nets = JSON.parse(
      (await runOk('docker', ['inspect', '-f', '{{json .NetworkSettings.Networks}}', bob])).stdout,
    );
    assert.deepEqual(Object.keys(nets), [`${stack.project}-bob-net`]);
    const out = await reach(bob, [['a host service via docker0', '172.17.0.1', listenPort]]);
    assert.match(out.internet ?? '', /^error/, JSON.stringify(out));
    assert.match(out['a host service via docker0'] ?? '', /^closed/);
  });
});

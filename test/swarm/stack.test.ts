/**
 * Berth itself as a Swarm stack, on three Docker engines on this machine (one manager, two workers; DinD,
 * test/support/swarm.ts): `berth stack-file` (in the hub image) derives the stack from docker-compose.yml and
 * docker-stack.yml, Docker 20.10's own CLI on the manager deploys it, users log in through Caddy and start
 * servers through the hub's API; profiles' node labels place them on the workers. Then a worker is lost: its
 * server is reported stopped and can start again on the worker left, while the hub and the proxy (on the
 * manager) keep serving the other; a proxy and a hub that Swarm starts again re-sync routes and reattach.
 *
 * Needs the app images of this tree (`set -a; . ./.env; set +a; bash images/build-offline.sh app`) and
 * berth/dind:20.10 (`bash images/build-offline.sh dind`).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { BrowserClient, login } from '../../services/hub/src/testing/browser-client.ts';
import {
  deployStack,
  diagnostics,
  generateStack,
  MANAGER_IMAGES,
  onManager,
  requireStackImages,
  STACK,
  STACK_IMAGES,
  StackEdge,
  serviceContainer,
  taskNodes,
  until,
} from '../support/berth-stack.ts';
import { run, runOk } from '../support/exec.ts';
import { jupyterApi } from '../support/jupyter.ts';
import { startSwarm, swarmUnavailable, type TestSwarm } from '../support/swarm.ts';

const PASSWORDS = { alice: 'alice-has-a-long-password', bob: 'bob-has-a-long-password' };
type User = keyof typeof PASSWORDS;

const skip = await swarmUnavailable();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Berth deployed as a Swarm stack on three nodes', { skip, timeout: 1_500_000 }, () => {
  let dir: string;
  let swarm: TestSwarm;
  let edge: StackEdge;
  const clients = {} as Record<User, BrowserClient>;
  const tokens = {} as Record<User, string>;

  /** The `berth` admin CLI in the hub's task, as an admin would run it. */
  async function berth(args: readonly string[], input?: string) {
    const hub = await serviceContainer(swarm, 'hub');
    const r = await run('docker', ['-H', hub.node.host, 'exec', '-i', hub.id, 'berth', ...args], {
      input: input ?? '',
    });
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  function api(user: User, method: string, path: string, body?: unknown) {
    return edge.fetch(`/hub/api${path}`, {
      method,
      headers: {
        authorization: `token ${tokens[user]}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  }

  async function serverModel(user: User): Promise<{ ready?: boolean } | undefined> {
    const r = await api(user, 'GET', `/users/${user}`);
    assert.equal(r.status, 200);
    return ((await r.json()) as { servers: Record<string, { ready?: boolean }> }).servers[''];
  }

  async function waitReady(user: User): Promise<void> {
    await until(`${user}'s server is ready`, 300_000, async () =>
      (await serverModel(user))?.ready ? true : undefined,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await diagnostics(swarm)}`);
    });
  }

  /** The node the running task of a user's server is on. */
  const nodeOf = async (user: User) => (await taskNodes(swarm, `berth-${user}`))[0];

  /** Jupyter's own API of a user's server, through Caddy → proxy → server, as the user's browser. */
  async function jupyterStatus(user: User): Promise<number> {
    const c = clients[user];
    await c.get(`/user/${user}/lab`);
    return (await jupyterApi(c, 'GET', `/user/${user}/api/status`)).status;
  }

  before(async () => {
    await requireStackImages();
    // The checkout an admin deploys from: the two files, the Caddyfile, and (made by berth stack-file) the secrets.
    dir = await generateStack();
    swarm = await startSwarm({
      nodes: 3,
      images: [STACK_IMAGES.singleuser],
      nodeImages: [MANAGER_IMAGES],
      labels: [{ 'berth.postgres': 'true' }, { 'berth.zone': 'a' }, { 'berth.zone': 'b' }],
      memoryBytes: 1536 * 1024 ** 2,
    });
    await deployStack(swarm, dir, { BERTH_POLL_INTERVAL_SECONDS: '3' });
    // Caddy publishes 443 on the manager (mode: host); https://localhost is that node, as for a browser.
    edge = new StackEdge(swarm);
    await edge.find();
    for (const [user, pw] of Object.entries(PASSWORDS) as [User, string][]) {
      assert.match(await berth(['user', 'add', user, '--password-stdin'], `${pw}\n`), /created user/);
      clients[user] = new BrowserClient(edge.base, edge.agent);
    }
  });

  after(async () => {
    await edge?.close();
    // BERTH_E2E_KEEP=1 leaves the swarm up for a look (removeSwarm(run) or its label removes it).
    if (process.env.BERTH_E2E_KEEP === '1' && swarm) {
      process.stderr.write(`kept swarm ${swarm.run}: docker -H ${swarm.manager.host} …\n`);
      return;
    }
    await swarm?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('deploys: every service runs, on the nodes the stack names, with the hardening carried over', async () => {
    const ls = await onManager(swarm, ['service', 'ls', '--format', '{{.Name}} {{.Mode}} {{.Replicas}}']);
    const services = Object.fromEntries(
      ls.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [name = '', mode, replicas] = l.split(' ');
          return [name, `${mode} ${replicas}`];
        }),
    );
    assert.deepEqual(services, {
      berth_caddy: 'replicated 1/1',
      'berth_docker-guard': 'global 1/1',
      berth_hub: 'replicated 1/1',
      berth_postgres: 'replicated 1/1',
      berth_proxy: 'replicated 1/1',
    });
    const hub = (await swarm.manager.docker.getService(`${STACK}_hub`).inspect()) as {
      Spec: {
        TaskTemplate: {
          ContainerSpec: {
            ReadOnly?: boolean;
            CapabilityDrop?: string[];
            Secrets?: { File: { Name: string; UID: string; Mode: number } }[];
            Mounts?: { Type: string; Source?: string }[];
          };
        };
        EndpointSpec?: { Mode?: string };
      };
    };
    const spec = hub.Spec.TaskTemplate.ContainerSpec;
    assert.equal(spec.ReadOnly, true);
    assert.deepEqual(spec.CapabilityDrop, ['ALL']);
    assert.equal(hub.Spec.EndpointSpec?.Mode, 'dnsrr');
    const cookie = spec.Secrets?.find((s) => s.File.Name === '/run/berth/hub/cookie_secret');
    assert.deepEqual(cookie && { uid: cookie.File.UID, mode: cookie.File.Mode }, {
      uid: '1000',
      mode: 0o400,
    });
    assert.ok(
      (spec.Mounts ?? []).every((m) => m.Type !== 'bind'),
      `the hub binds nothing of a node: ${JSON.stringify(spec.Mounts)}`,
    );
    // Postgres where its label is; the hub, the proxy and the guard on the manager.
    const managerId = swarm.manager.nodeId;
    for (const s of ['postgres', 'hub', 'proxy', 'docker-guard', 'caddy'])
      assert.deepEqual(await taskNodes(swarm, `${STACK}_${s}`), [managerId], `${s} runs on the manager`);
  });

  it('users log in, get tokens and start servers through the stack, placed on their nodes by profile', async () => {
    const imageId = (
      await runOk('docker', ['image', 'inspect', '-f', '{{.Id}}', STACK_IMAGES.singleuser])
    ).stdout.trim();
    const profiles = ['a', 'b'].map((zone) => ({
      name: `zone-${zone}`,
      display_name: `Zone ${zone}`,
      image: imageId,
      node_labels: { 'berth.zone': zone },
    }));
    const added = await berth(['profiles', 'add', '-'], JSON.stringify({ profiles }));
    assert.match(added, /added zone-a/);
    assert.match(added, /added zone-b/);

    for (const [user, zone] of [
      ['alice', 'a'],
      ['bob', 'b'],
    ] as [User, string][]) {
      const res = await login(clients[user], user, PASSWORDS[user]);
      assert.equal(res.status, 200);
      assert.equal(new URL(res.url).pathname, '/hub/home');
      tokens[user] = (await berth(['token', 'create', user, '--note', 'stack test'])).trim();
      const start = await api(user, 'POST', `/users/${user}/server`, { profile: `zone-${zone}` });
      assert.ok([201, 202].includes(start.status), `start: ${start.status} ${await start.text()}`);
    }
    await waitReady('alice');
    await waitReady('bob');
    const [, a, b] = swarm.nodes;
    assert.equal(await nodeOf('alice'), a?.nodeId, 'zone-a → the worker labelled berth.zone=a');
    assert.equal(await nodeOf('bob'), b?.nodeId, 'zone-b → the worker labelled berth.zone=b');
    assert.equal(await jupyterStatus('alice'), 200);
    assert.equal(await jupyterStatus('bob'), 200);
  });

  it('a worker is lost: its server is reported stopped, the hub and proxy keep serving the other', async () => {
    await swarm.stopNode(1);
    await swarm.waitForNodeState(1, 'down', 120_000);
    await until("alice's server is reported stopped", 120_000, async () =>
      (await serverModel('alice')) === undefined ? true : undefined,
    );
    assert.equal((await edge.fetch('/hub/health')).status, 200, 'the hub answers');
    assert.equal((await serverModel('bob'))?.ready, true);
    assert.equal(await jupyterStatus('bob'), 200, "bob's server is still reached through the proxy");
    const gone = await clients.alice.request('GET', '/user/alice/api/status');
    assert.equal(gone.status, 503, 'the hub answers for the stopped server');

    // Alice starts again, with the profile without node labels: on the worker left.
    const again = await api('alice', 'POST', '/users/alice/server', { profile: 'default' });
    assert.ok([201, 202].includes(again.status), `start: ${again.status} ${await again.text()}`);
    await waitReady('alice');
    assert.equal(await nodeOf('alice'), swarm.nodes[2]?.nodeId);
    assert.equal(await jupyterStatus('alice'), 200);
  });

  it('a proxy Swarm starts again gets its routes back; a hub Swarm starts again reattaches', async () => {
    await runOk('docker', [
      '-H',
      swarm.manager.host,
      'service',
      'update',
      '--force',
      '--detach',
      `${STACK}_proxy`,
    ]);
    await until("bob's route is back on the new proxy", 120_000, async () =>
      (await jupyterStatus('bob').catch(() => 0)) === 200 ? true : undefined,
    );
    await runOk('docker', [
      '-H',
      swarm.manager.host,
      'service',
      'update',
      '--force',
      '--detach',
      `${STACK}_hub`,
    ]);
    await sleep(5_000);
    await until('the new hub answers', 180_000, async () =>
      (await edge.fetch('/hub/health').catch(() => undefined))?.ok ? true : undefined,
    );
    assert.equal((await serverModel('bob'))?.ready, true, "the new hub found bob's server running");
    assert.equal((await serverModel('alice'))?.ready, true);
    assert.equal(await jupyterStatus('bob'), 200);
  });
});

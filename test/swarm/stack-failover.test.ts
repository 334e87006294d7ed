/**
 * The hub and the proxy move to another node: Berth as a stack on three managers (a Raft majority survives the
 * loss of one), Postgres on the first, the hub, the proxy and Caddy kept off it, servers on the other two by
 * profile. The node that runs the hub is stopped: Swarm starts the hub, the proxy and Caddy on the manager
 * left, the new hub reattaches to the server still running there and routes it again, the server on the lost
 * node is reported stopped, and its user starts it again on the node left.
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

describe('Berth as a stack on three managers: the hub and the proxy survive the loss of their node', {
  skip,
  timeout: 1_500_000,
}, () => {
  let dir: string;
  let swarm: TestSwarm;
  let edge: StackEdge;
  const tokens = {} as Record<User, string>;

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

  const waitReady = (user: User) =>
    until(`${user}'s server is ready`, 300_000, async () =>
      (await serverModel(user))?.ready ? true : undefined,
    );

  /** Logs in through the edge as found now, opens the server, and asks Jupyter's own API. */
  async function jupyterStatus(user: User): Promise<number> {
    const c = new BrowserClient(edge.base, edge.agent);
    const res = await login(c, user, PASSWORDS[user]);
    assert.equal(res.status, 200);
    await c.get(`/user/${user}/lab`);
    return (await jupyterApi(c, 'GET', `/user/${user}/api/status`)).status;
  }

  /** Until Jupyter's API of the user's server answers 200 through the edge; the last answer if it never does. */
  async function reaches(user: User): Promise<void> {
    let last = 0;
    await until(`${user}'s server is reached through the edge`, 90_000, async () => {
      last = await jupyterStatus(user);
      return last === 200 ? true : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message} (last answer ${last})`);
    });
  }

  before(async () => {
    await requireStackImages();
    dir = await generateStack();
    swarm = await startSwarm({
      nodes: 3,
      managers: 3,
      images: [...MANAGER_IMAGES, STACK_IMAGES.singleuser],
      labels: [{ 'berth.postgres': 'true' }, { 'berth.zone': 'a' }, { 'berth.zone': 'b' }],
      memoryBytes: 1536 * 1024 ** 2,
    });
    // Servers, the hub, the proxy and Caddy off the database's node, so losing theirs keeps the database.
    await deployStack(swarm, dir, {
      BERTH_SWARM_CONSTRAINTS: 'node.labels.berth.postgres!=true',
      BERTH_POLL_INTERVAL_SECONDS: '3',
    });
    for (const s of ['hub', 'proxy', 'caddy']) {
      await runOk('docker', [
        '-H',
        swarm.manager.host,
        'service',
        'update',
        '--quiet',
        '--constraint-add',
        'node.labels.berth.postgres!=true',
        `${STACK}_${s}`,
      ]);
    }
    edge = new StackEdge(swarm);
    await edge.find();
    for (const [user, pw] of Object.entries(PASSWORDS) as [User, string][]) {
      assert.match(await berth(['user', 'add', user, '--password-stdin'], `${pw}\n`), /created user/);
      tokens[user] = (await berth(['token', 'create', user])).trim();
    }
  });

  after(async () => {
    await edge?.close();
    await swarm?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // Not yet passing: in the clean-clone CI of 3c64a93 the new hub, proxy and Caddy came up on the manager left,
  // but the kept user's server answered 403 through the edge for 90 s. Run and reported, not counted as a failure,
  // until that is found (the issue note says so).
  const todo = "after failover the kept user's server answers 403 through the edge (CI, 2026-11-24)";
  it('the node running the hub is lost: hub, proxy and Caddy start on the manager left and serve again', {
    todo,
  }, async () => {
    const imageId = (
      await runOk('docker', ['image', 'inspect', '-f', '{{.Id}}', STACK_IMAGES.singleuser])
    ).stdout.trim();
    const profiles = ['a', 'b'].map((zone) => ({
      name: `zone-${zone}`,
      image: imageId,
      node_labels: { 'berth.zone': zone },
    }));
    await berth(['profiles', 'add', '-'], JSON.stringify({ profiles }));
    for (const [user, zone] of [
      ['alice', 'a'],
      ['bob', 'b'],
    ] as [User, string][]) {
      const start = await api(user, 'POST', `/users/${user}/server`, { profile: `zone-${zone}` });
      assert.ok([201, 202].includes(start.status), `start: ${start.status} ${await start.text()}`);
    }
    await waitReady('alice');
    await waitReady('bob');

    const [hubNode] = await taskNodes(swarm, `${STACK}_hub`);
    const lostIndex = swarm.nodes.findIndex((n) => n.nodeId === hubNode);
    assert.ok(lostIndex === 1 || lostIndex === 2, `the hub runs off the database's node (${lostIndex})`);
    const leftIndex = 3 - lostIndex;
    const left = swarm.nodes[leftIndex];
    const [lostUser, keptUser]: [User, User] = lostIndex === 1 ? ['alice', 'bob'] : ['bob', 'alice'];

    await swarm.stopNode(lostIndex);
    await swarm.waitForNodeState(lostIndex, 'down', 120_000);
    for (const s of ['hub', 'proxy', 'caddy']) {
      await until(`${s} runs on the manager left`, 180_000, async () =>
        (await taskNodes(swarm, `${STACK}_${s}`)).includes(left?.nodeId ?? '') ? true : undefined,
      );
    }
    // Caddy's data volume is per node: the edge is on another node now, with a CA of its own.
    const edgeNode = await edge.find();
    assert.equal(edgeNode.nodeId, left?.nodeId);

    assert.equal((await serverModel(keptUser))?.ready, true, 'the new hub reattached to the running server');
    // The new proxy starts with no routes; the new hub routes the server again when it sees it.
    await reaches(keptUser);
    await until(`${lostUser}'s server is reported stopped`, 120_000, async () =>
      (await serverModel(lostUser)) === undefined ? true : undefined,
    );
    const again = await api(lostUser, 'POST', `/users/${lostUser}/server`, { profile: 'default' });
    assert.ok([201, 202].includes(again.status), `start: ${again.status} ${await again.text()}`);
    await waitReady(lostUser);
    assert.deepEqual(await taskNodes(swarm, `berth-${lostUser}`), [left?.nodeId]);
    await reaches(lostUser);
    const services = await onManager(swarm, ['service', 'ls', '--format', '{{.Name}} {{.Replicas}}']);
    assert.match(services.stdout, /berth_postgres 1\/1/, 'the database never moved');
  });
});

/**
 * Idle culling against real servers (the stock single-user image, started by the hub through Docker): the
 * culler asks each server's own /api/status and /api/kernels with a token the hub mints, so an idle server is
 * warned, then culled, while one whose kernel is busy with a long computation is left alone.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import Dockerode from 'dockerode';
import pino from 'pino';
import { WebSocket } from 'undici';
import { dockerUnavailable } from '../spawner/testing/docker-test-env.ts';
import { type DockerHub, SINGLEUSER_IMAGE, startDockerHub } from '../testing/docker-hub.ts';
import { buildCuller } from './cull-wiring.ts';

const docker = new Dockerode();
const skip =
  (await dockerUnavailable(docker)) ||
  (await docker
    .getImage(SINGLEUSER_IMAGE)
    .inspect()
    .then(
      () => false,
      () => `${SINGLEUSER_IMAGE} is not built (npm run images:offline)`,
    ));

/** Runs `code` in the kernel through its websocket, as JupyterLab does; resolves once the kernel says busy. */
async function runInKernel(wsUrl: string, token: string, code: string): Promise<WebSocket> {
  const ws = new WebSocket(wsUrl, { headers: { authorization: `token ${token}` } });
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (e) =>
      reject(new Error(`websocket: ${String((e as { message?: string }).message ?? e.type)}`));
  });
  const session = randomUUID();
  const msgId = randomUUID();
  const busy = new Promise<void>((resolve) => {
    ws.onmessage = (ev) => {
      const msg = JSON.parse(String(ev.data)) as {
        msg_type?: string;
        parent_header?: { msg_id?: string };
        content?: { execution_state?: string };
      };
      if (
        msg.msg_type === 'status' &&
        msg.parent_header?.msg_id === msgId &&
        msg.content?.execution_state === 'busy'
      ) {
        resolve();
      }
    };
  });
  ws.send(
    JSON.stringify({
      header: {
        msg_id: msgId,
        session,
        username: 'test',
        msg_type: 'execute_request',
        version: '5.3',
        date: new Date().toISOString(),
      },
      parent_header: {},
      metadata: {},
      content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false },
      channel: 'shell',
      buffers: [],
    }),
  );
  await busy;
  return ws;
}

describe('idle culling of real servers', { skip, timeout: 300_000 }, () => {
  let dh: DockerHub;
  const sockets: WebSocket[] = [];

  before(async () => {
    // Warned after 1 s of idleness, culled after an hour: the test looks "two hours later" with its own clock.
    dh = await startDockerHub({
      env: { BERTH_CULL_IDLE_TIMEOUT_SECONDS: '3600', BERTH_CULL_WARNING_SECONDS: '3599' },
    });
  });
  after(async () => {
    for (const ws of sockets) ws.close();
    await dh?.close();
  });

  test('an idle server is warned, then culled; one with a busy kernel is not', async () => {
    const ctx = dh.hub.ctx;
    const idle = await dh.addUser('idle');
    const busy = await dh.addUser('busy');
    for (const u of [idle, busy]) {
      await ctx.lifecycle.start(u.user, '');
      const out = await ctx.lifecycle.settled(u.user, '');
      assert.equal(out?.status, 'ready', JSON.stringify(out));
    }
    // busy: a kernel running a long computation, started through the server's own REST API and websocket.
    const row = await ctx.servers.find(busy.user.id, '');
    assert.ok(row?.url);
    const api = `${row.url}/user/busy/api`;
    const auth = { authorization: `token ${busy.token}` };
    const created = await fetch(`${api}/kernels`, { method: 'POST', headers: auth, body: '{}' });
    assert.equal(created.status, 201, await created.clone().text());
    const { id } = (await created.json()) as { id: string };
    sockets.push(
      await runInKernel(
        `${api.replace(/^http/, 'ws')}/kernels/${id}/channels`,
        busy.token,
        'import time; time.sleep(900)',
      ),
    );

    // Now: the idle server is in its warning window; the busy one is not.
    // The warning window opens 1 s after the idle server's last activity (its start-up calls count as activity),
    // and jupyter_server reports the kernel busy once it has seen the status message: on a fast machine the first
    // check can come too early for either, so look again until both show.
    let now = await ctx.culler.check();
    for (let i = 0; i < 30 && (now.warned === 0 || now.busy === 0); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      now = await ctx.culler.check();
    }
    assert.equal(now.warned, 1);
    assert.equal(now.busy, 1, JSON.stringify(now));
    assert.equal(now.unknown, 0, 'both servers answered the hub-minted token');
    const model = (await (
      await fetch(`${dh.base}/hub/api/users/idle`, { headers: { authorization: `token ${idle.token}` } })
    ).json()) as { servers: Record<string, { cull_warning: { reason: string; cull_at: string } | null }> };
    assert.equal(model.servers['']?.cull_warning?.reason, 'idle');
    assert.ok(model.servers['']?.cull_warning?.cull_at);

    // Two hours later, as the culler sees it.
    const later = buildCuller({
      config: ctx.config,
      servers: ctx.servers,
      users: ctx.users,
      tokens: ctx.tokens,
      lifecycle: ctx.lifecycle,
      log: pino({ level: 'silent' }),
      now: () => new Date(Date.now() + 2 * 3600_000),
    });
    const report = await later.check();
    assert.equal(report.culled, 1);
    assert.equal(report.busy, 1);
    assert.equal(await ctx.servers.find(idle.user.id, ''), undefined, 'the idle server was stopped');
    assert.match(later.notice('idle', '')?.message ?? '', /idle for \d+ min/);
    const left = await docker.listContainers({
      filters: JSON.stringify({ label: [`org.berth.deployment=${dh.ns.deploymentId}`] }),
    });
    assert.deepEqual(
      left.map((c) => c.Labels['org.berth.user']),
      ['busy'],
      'only the busy server still runs',
    );
    const kernel = (await (await fetch(`${api}/kernels/${id}`, { headers: auth })).json()) as {
      execution_state: string;
    };
    assert.equal(kernel.execution_state, 'busy', 'and its computation goes on');
  });
});

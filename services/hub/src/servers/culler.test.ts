import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { type CullCandidate, type CullerConfig, IdleCuller } from './culler.ts';
import { decideCull, type ServerActivity } from './idle-policy.ts';
import { type ProbeTarget, parseActivity, type ServerProbe } from './server-probe.ts';

const MIN = 60_000;
const T0 = new Date('2026-11-23T10:00:00Z');
const at = (min: number) => new Date(T0.getTime() + min * MIN);

const policy: CullerConfig = {
  idleTimeoutMs: 60 * MIN,
  maxAgeMs: 0,
  warningMs: 10 * MIN,
  cullConnected: false,
  intervalMs: MIN,
  cullAdmins: true,
  exemptUsers: [],
};

/** A server that answers its status API: idle since `lastActivity`, with the given kernels and connections. */
class AnsweringServer implements ServerProbe {
  calls = 0;
  readonly answer: Partial<ServerActivity & { ok: true }>;
  constructor(answer: Partial<ServerActivity & { ok: true }> = {}) {
    this.answer = answer;
  }
  async probe(_t: ProbeTarget): Promise<ServerActivity> {
    this.calls++;
    return { ok: true, lastActivity: T0, connections: 0, kernels: 0, busyKernels: 0, ...this.answer };
  }
}

/** A server running a long computation: a kernel is `busy`, nothing else has happened since T0. */
const busyKernelServer = () => new AnsweringServer({ kernels: 1, busyKernels: 1 });

/** A server whose `/api/status` cannot be reached (overloaded, restarting its web process, network trouble). */
class StatusEndpointDown implements ServerProbe {
  calls = 0;
  async probe(): Promise<ServerActivity> {
    this.calls++;
    return { ok: false, error: 'connect ECONNREFUSED' };
  }
}

function candidate(
  name = '',
  o: { user?: string; admin?: boolean; hubActivity?: Date | null; started?: Date } = {},
): CullCandidate {
  return {
    user: { id: 1, name: o.user ?? 'alice', admin: o.admin ?? false },
    server: {
      id: name === '' ? 10 : 11,
      name,
      state: 'running',
      url: 'http://berth-alice:8888',
      started: o.started ?? T0,
      last_activity: o.hubActivity ?? null,
    },
  };
}

function culler(probe: ServerProbe, candidates: CullCandidate[], cfg: Partial<CullerConfig> = {}) {
  const clock = { now: T0 };
  const stopped: string[] = [];
  let list = candidates;
  const c = new IdleCuller({
    candidates: async () => list,
    probe,
    stop: async (user, server) => {
      stopped.push(`${user.name}/${server}`);
      list = list.filter((x) => !(x.user.name === user.name && x.server.name === server));
    },
    config: { ...policy, ...cfg },
    log: pino({ level: 'silent' }),
    now: () => clock.now,
  });
  return { c, clock, stopped };
}

describe('idle culling', () => {
  test('an idle server is culled after the timeout, and its owner gets a notice', async () => {
    const { c, clock, stopped } = culler(new AnsweringServer(), [candidate()]);
    clock.now = at(61);
    const report = await c.check();
    assert.deepEqual(stopped, ['alice/']);
    assert.equal(report.culled, 1);
    assert.match(c.notice('alice', '')?.message ?? '', /idle for 61 min.*files are kept/);
    assert.equal(c.warning('alice', ''), undefined);
  });

  test('a busy kernel is never culled, however long ago the last activity', async () => {
    const { c, clock, stopped } = culler(busyKernelServer(), [candidate()]);
    for (const m of [61, 600, 6000]) {
      clock.now = at(m);
      const report = await c.check();
      assert.equal(report.busy, 1);
    }
    assert.deepEqual(stopped, []);
  });

  test('a server whose status endpoint is down is not culled for that alone', async () => {
    // "Unknown" is not "idle": a long computation can make a server slow to answer, and culling it would kill
    // the computation. The max age (if set) still bounds how long such a server runs.
    const probe = new StatusEndpointDown();
    const { c, clock, stopped } = culler(probe, [candidate()]);
    clock.now = at(500);
    const report = await c.check();
    assert.equal(probe.calls, 1, 'it was asked');
    assert.equal(report.unknown, 1);
    assert.deepEqual(stopped, []);
    assert.equal(c.warning('alice', ''), undefined, 'no warning either: nothing is known');
  });

  test('users are warned before culling; the warning says when, and the cull follows', async () => {
    const { c, clock, stopped } = culler(new AnsweringServer(), [candidate()]);
    clock.now = at(49);
    await c.check();
    assert.equal(c.warning('alice', ''), undefined, 'not yet in the warning window');
    clock.now = at(51);
    assert.equal((await c.check()).warned, 1);
    assert.deepEqual(c.warning('alice', ''), { reason: 'idle', cullAt: at(60), idleSince: T0 });
    assert.deepEqual(stopped, []);
    clock.now = at(60);
    await c.check();
    assert.deepEqual(stopped, ['alice/']);
  });

  test('using the server after the warning clears it', async () => {
    const server = new AnsweringServer();
    const { c, clock, stopped } = culler(server, [candidate()]);
    clock.now = at(55);
    await c.check();
    assert.ok(c.warning('alice', ''));
    (server.answer as { lastActivity: Date }).lastActivity = at(56);
    clock.now = at(57);
    await c.check();
    assert.equal(c.warning('alice', ''), undefined);
    assert.deepEqual(stopped, []);
  });

  test('activity the server reported to the hub keeps it, and the server is not even asked', async () => {
    const probe = new AnsweringServer();
    const { c, clock, stopped } = culler(probe, [candidate('', { hubActivity: at(100) })]);
    clock.now = at(120);
    await c.check();
    assert.equal(probe.calls, 0);
    assert.deepEqual(stopped, []);
  });

  test("the server's own last_activity counts even when the hub's record is old", async () => {
    const { c, clock, stopped } = culler(new AnsweringServer({ lastActivity: at(100) }), [candidate()]);
    clock.now = at(120);
    await c.check();
    assert.deepEqual(stopped, []);
  });

  test('an open kernel connection keeps an idle server unless cullConnected', async () => {
    const keeps = culler(new AnsweringServer({ connections: 1, kernels: 1 }), [candidate()]);
    keeps.clock.now = at(90);
    await keeps.c.check();
    assert.deepEqual(keeps.stopped, []);
    const culls = culler(new AnsweringServer({ connections: 1, kernels: 1 }), [candidate()], {
      cullConnected: true,
    });
    culls.clock.now = at(90);
    await culls.c.check();
    assert.deepEqual(culls.stopped, ['alice/']);
  });

  test('named servers are culled on their own', async () => {
    /** The default server is computing, the named one idle. */
    const probe: ServerProbe = {
      probe: async (t) => ({
        ok: true,
        lastActivity: T0,
        connections: 0,
        kernels: 1,
        busyKernels: t.serverName === '' ? 1 : 0,
      }),
    };
    const { c, clock, stopped } = culler(probe, [candidate(''), candidate('gpu')]);
    clock.now = at(61);
    await c.check();
    assert.deepEqual(stopped, ['alice/gpu']);
  });

  test('max age stops even a busy server, after a warning', async () => {
    const { c, clock, stopped } = culler(busyKernelServer(), [candidate()], { maxAgeMs: 480 * MIN });
    clock.now = at(475);
    await c.check();
    assert.deepEqual(c.warning('alice', '')?.cullAt, at(480));
    assert.equal(c.warning('alice', '')?.reason, 'max-age');
    clock.now = at(480);
    await c.check();
    assert.deepEqual(stopped, ['alice/']);
    assert.match(c.notice('alice', '')?.message ?? '', /maximum age/);
  });

  test('exempt users and (optionally) admins are never culled', async () => {
    const cands = [candidate('', { user: 'root', admin: true }), candidate('', { user: 'svc' })];
    const { c, clock, stopped } = culler(new AnsweringServer(), cands, {
      cullAdmins: false,
      exemptUsers: ['svc'],
    });
    clock.now = at(999);
    assert.equal((await c.check()).exempt, 2);
    assert.deepEqual(stopped, []);
  });

  test('culling off (timeout 0, no max age): nothing is asked or stopped', async () => {
    const probe = new AnsweringServer();
    const { c, clock, stopped } = culler(probe, [candidate()], { idleTimeoutMs: 0 });
    clock.now = at(9999);
    await c.check();
    assert.equal(probe.calls, 0);
    assert.deepEqual(stopped, []);
  });

  test('a warning whose server went away (stopped by its owner) is dropped', async () => {
    const cands = [candidate()];
    const { c, clock } = culler(new AnsweringServer(), cands);
    clock.now = at(55);
    await c.check();
    assert.ok(c.warning('alice', ''));
    cands.length = 0;
    await c.check();
    assert.equal(c.warning('alice', ''), undefined);
  });
});

describe("jupyter_server's status and kernels shapes", () => {
  test('status and kernels as jupyter_server 2 serves them', () => {
    const status = {
      connections: 1,
      kernels: 2,
      last_activity: '2026-11-23T10:05:00.000000Z',
      started: '2026-11-23T09:00:00.000000Z',
    };
    const kernels = [
      {
        id: 'a',
        name: 'python3',
        last_activity: '2026-11-23T10:07:00.000000Z',
        execution_state: 'busy',
        connections: 1,
      },
      {
        id: 'b',
        name: 'python3',
        last_activity: '2026-11-23T10:01:00Z',
        execution_state: 'idle',
        connections: 0,
      },
    ];
    assert.deepEqual(parseActivity(status, kernels), {
      ok: true,
      lastActivity: new Date('2026-11-23T10:07:00Z'),
      connections: 1,
      kernels: 2,
      busyKernels: 1,
    });
  });

  test('anything else is a failed probe, never "idle"', () => {
    assert.equal(parseActivity('<html>', []).ok, false);
    assert.equal(parseActivity({ last_activity: 'x' }, { message: 'Forbidden' }).ok, false);
  });

  test('decideCull: the warning window and the cull point are exact', () => {
    const facts = (activity: ServerActivity) => ({ started: T0, hubActivity: null, activity });
    const idle: ServerActivity = { ok: true, lastActivity: T0, connections: 0, kernels: 0, busyKernels: 0 };
    assert.equal(decideCull(facts(idle), policy, at(49.9)).action, 'keep');
    assert.equal(decideCull(facts(idle), policy, at(50)).action, 'warn');
    assert.equal(decideCull(facts(idle), policy, at(60)).action, 'cull');
  });
});

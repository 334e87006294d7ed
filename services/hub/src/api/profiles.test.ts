/**
 * Image profiles through the hub (real Postgres, a spawner without Docker): seeding, the admin API with its
 * versions, what users see, spawning by profile, the refusals, and GPUs. Real Docker is in
 * spawner/docker/profiles-docker.test.ts and profiles-spawn-docker.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pino from 'pino';
import { createHub } from '../app.ts';
import { HARNESS_IMAGE, type Harness, startHarness } from '../testing/hub-harness.ts';
import { ListeningSpawner } from '../testing/listening-spawner.ts';
import { issueApiToken } from './tokens.ts';

const pin = (c: string) => `sha256:${c.repeat(64)}`;

interface Model {
  name: string;
  version: number;
  image: string;
  cpu: number;
  memory: number;
  retired: boolean;
  default: boolean;
  environment?: Record<string, string>;
  groups?: string[];
  source?: string;
  author?: string | null;
  image_probe: unknown;
}

describe('image profiles (real Postgres)', () => {
  let h: Harness;
  let spawner: ListeningSpawner;
  const tokens: Record<string, string> = {};

  const api = (path: string, init: RequestInit & { as?: string; json?: unknown } = {}) => {
    const headers = new Headers(init.headers);
    if (init.as) headers.set('authorization', `token ${tokens[init.as]}`);
    if (init.json !== undefined) headers.set('content-type', 'application/json');
    const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
    return fetch(`${h.base}/hub/api${path}`, { ...init, headers, ...(body !== undefined ? { body } : {}) });
  };
  const json = async <T>(res: Response, status: number): Promise<T> => {
    const text = await res.text();
    assert.equal(res.status, status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const setGroups = (name: string, groups: string[]) =>
    h.hub.ctx.db
      .updateTable('users')
      .set({ groups: JSON.stringify(groups) })
      .where('name', '=', name)
      .execute();

  before(async () => {
    spawner = new ListeningSpawner();
    h = await startHarness({ spawner, env: { BERTH_GPU_DEVICES: 'GPU-aaa,GPU-bbb' } });
    for (const [name, admin] of [
      ['alice', false],
      ['bob', false],
      ['carol', false],
      ['root', true],
    ] as const) {
      await h.addUser(name, `${name}-password`, admin);
      const row = await h.hub.ctx.users.byName(name);
      assert.ok(row);
      tokens[name] = (await issueApiToken(h.hub.ctx, row, {})).token;
    }
    await setGroups('alice', ['physics']);
  });
  after(() => h?.close());

  describe('seeding', () => {
    it('without a profiles file, BERTH_SINGLEUSER_IMAGE is the one default profile', async () => {
      const list = await json<Model[]>(await api('/profiles', { as: 'root' }), 200);
      assert.equal(list.length, 1);
      const [d] = list;
      assert.equal(d?.name, 'default');
      assert.equal(d?.image, HARNESS_IMAGE);
      assert.equal(d?.default, true);
      assert.equal(d?.source, 'config');
      assert.equal(d?.version, 1);
      assert.equal(d?.memory, h.hub.ctx.config.spawner.memoryBytes, 'global limits fill the profile');
    });

    it('a tag in BERTH_SINGLEUSER_IMAGE is refused when no engine can pin it', async () => {
      await assert.rejects(
        startHarness({ env: { BERTH_SINGLEUSER_IMAGE: 'berth/singleuser:latest' } }),
        /BERTH_SINGLEUSER_IMAGE: berth\/singleuser:latest is a tag/,
      );
    });

    it('follows the file while the file made the newest version; an admin edit wins afterwards', async () => {
      const seed = (image: string, cpu: number) =>
        h.hub.ctx.profiles.seed(
          [
            { name: 'seeded', image, cpu },
            { name: 'default', image: HARNESS_IMAGE },
          ],
          'default',
        );
      assert.deepEqual((await seed(pin('1'), 1)).created, ['seeded']);
      assert.deepEqual((await seed(pin('1'), 1)).unchanged.sort(), ['default', 'seeded'], 'idempotent');
      assert.deepEqual((await seed(pin('2'), 1)).updated, ['seeded'], 'the file changed: a new version');
      await json(await api('/profiles/seeded', { method: 'PATCH', as: 'root', json: { cpu: 3 } }), 200);
      const report = await seed(pin('3'), 1);
      assert.deepEqual(report.kept, ['seeded'], 'the admin edit is kept');
      const now = await json<Model>(await api('/profiles/seeded', { as: 'root' }), 200);
      assert.equal(now.cpu, 3);
      assert.equal(now.image, pin('2'));
      assert.equal(now.version, 3);
    });

    it('retires config profiles the file no longer lists, but never an admin-made one', async () => {
      await json(
        await api('/profiles', { method: 'POST', as: 'root', json: { name: 'by-hand', image: pin('4') } }),
        201,
      );
      await h.hub.ctx.profiles.seed(
        [
          { name: 'temp', image: pin('5') },
          { name: 'default', image: HARNESS_IMAGE },
        ],
        'default',
      );
      const report = await h.hub.ctx.profiles.seed([{ name: 'default', image: HARNESS_IMAGE }], 'default');
      assert.deepEqual(report.retired, ['temp']);
      const all = await json<Model[]>(await api('/profiles?include_retired=1', { as: 'root' }), 200);
      const by = Object.fromEntries(all.map((m) => [m.name, m]));
      assert.equal(by.temp?.retired, true);
      assert.equal(by['by-hand']?.retired, false);
      assert.equal(by.seeded?.retired, false, 'changed by an admin: the file no longer applies');
    });

    it('reads a YAML profiles file at start, and refuses a bad one naming the field', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'berth-profiles-'));
      try {
        const file = join(dir, 'profiles.yaml');
        await writeFile(
          file,
          [
            'default: small',
            'profiles:',
            '  - name: big',
            `    image: "${pin('6')}"`,
            '    memory: 4G',
            '    gpus: 1',
            '  - name: small',
            `    image: "${pin('7')}"`,
            '    groups: [physics]',
            '',
          ].join('\n'),
        );
        const config = { ...h.hub.ctx.config, profiles: { file, gpuDevices: ['0'] } };
        const hub = await createHub(config, {
          spawner: new ListeningSpawner(),
          cookieSecret: 'b'.repeat(64),
          log: pino({ level: 'silent' }),
        });
        try {
          assert.equal(hub.ctx.profiles.defaultName, 'small');
          const big = await hub.ctx.profiles.get('big');
          assert.equal(big.spec.memory, 4 * 1024 ** 3);
          assert.equal(big.spec.gpus, 1);
          assert.deepEqual((await hub.ctx.profiles.get('small')).spec.groups, ['physics']);
        } finally {
          await hub.close();
          // That hub's file did not list `default`, so it retired it in the shared database: bring it back.
          await h.hub.ctx.profiles.restore('default', { source: 'api', author: 'test' });
        }
        await writeFile(file, `profiles:\n  - name: x\n    image: berth/singleuser:latest\n`);
        await assert.rejects(
          createHub(config, {
            spawner: new ListeningSpawner(),
            cookieSecret: 'b'.repeat(64),
            log: pino({ level: 'silent' }),
          }),
          { name: 'ConfigError', message: /BERTH_PROFILES_FILE .*profiles\.0\.image: image must be pinned/ },
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe('admin API', () => {
    it('creates a profile (201); bad input is a 400 naming the field; a name is taken once (409)', async () => {
      const made = await json<Model>(
        await api('/profiles', {
          method: 'POST',
          as: 'root',
          json: {
            name: 'physics-lab',
            display_name: 'Physics',
            image: `registry.example.org:5000/lab@${pin('a')}`,
            cpu: 2,
            memory: '3G',
            environment: { OMP_NUM_THREADS: '2' },
            data_volumes: [{ volume: 'physics-data', mount_path: '/data' }],
            internet: true,
            default_url: '/tree',
            groups: ['physics'],
          },
        }),
        201,
      );
      assert.equal(made.version, 1);
      assert.equal(made.memory, 3 * 1024 ** 3);
      assert.equal(made.author, 'root');
      assert.equal(made.source, 'api');
      for (const [body, field] of [
        [{ name: 'x', image: 'berth/singleuser:latest' }, /image: image must be pinned/],
        [{ name: 'x', image: pin('a'), privileged: true }, /unknown field\(s\): privileged/],
        [
          { name: 'x', image: pin('a'), data_volumes: [{ volume: '/', mount_path: '/x' }] },
          /host paths are refused/,
        ],
        [{ name: 'x', image: pin('a'), gpus: 3 }, /gpus: .*BERTH_GPU_DEVICES lists 2/],
        [{ name: 'X Y', image: pin('a') }, /name/],
      ] as const) {
        const res = await json<{ message: string }>(
          await api('/profiles', { method: 'POST', as: 'root', json: body }),
          400,
        );
        assert.match(res.message, field);
      }
      await json(
        await api('/profiles', {
          method: 'POST',
          as: 'root',
          json: { name: 'physics-lab', image: pin('a') },
        }),
        409,
      );
    });

    it('every change is a new immutable version; retire instead of delete; restore', async () => {
      const v2 = await json<Model>(
        await api('/profiles/physics-lab', {
          method: 'PATCH',
          as: 'root',
          json: { cpu: 4 },
          headers: { 'if-match': '1' },
        }),
        200,
      );
      assert.equal(v2.version, 2);
      assert.equal(v2.cpu, 4);
      const stale = await api('/profiles/physics-lab', {
        method: 'PATCH',
        as: 'root',
        json: { cpu: 5 },
        headers: { 'if-match': '1' },
      });
      assert.equal(stale.status, 409, 'an edit of an old version is not silently applied');
      const retired = await json<Model>(
        await api('/profiles/physics-lab', { method: 'DELETE', as: 'root' }),
        200,
      );
      assert.equal(retired.version, 3);
      assert.equal(retired.retired, true);
      const versions = await json<Model[]>(await api('/profiles/physics-lab/versions', { as: 'root' }), 200);
      assert.deepEqual(
        versions.map((v) => [v.version, v.cpu, v.retired]),
        [
          [1, 2, false],
          [2, 4, false],
          [3, 4, true],
        ],
      );
      const v1 = await json<Model>(await api('/profiles/physics-lab/versions/1', { as: 'root' }), 200);
      assert.equal(v1.cpu, 2);
      // The database itself refuses to change or delete a version.
      await assert.rejects(
        sql`update profile_versions set retired = false`.execute(h.hub.ctx.db),
        /immutable/,
      );
      await assert.rejects(sql`delete from profile_versions`.execute(h.hub.ctx.db), /immutable/);
      const restored = await json<Model>(
        await api('/profiles/physics-lab/restore', { method: 'POST', as: 'root' }),
        200,
      );
      assert.deepEqual([restored.version, restored.retired], [4, false]);
      const same = await json<Model>(
        await api('/profiles/physics-lab', { method: 'PATCH', as: 'root', json: { cpu: 4 } }),
        200,
      );
      assert.equal(same.version, 4, 'an edit that changes nothing makes no version');
      await json(await api('/profiles/nope', { method: 'PATCH', as: 'root', json: { cpu: 1 } }), 404);
    });

    it('needs admin:profiles to change anything; users read only the profiles their groups allow', async () => {
      for (const [method, path] of [
        ['POST', '/profiles'],
        ['PATCH', '/profiles/default'],
        ['DELETE', '/profiles/default'],
        ['GET', '/profiles/default/versions'],
      ] as const) {
        const res = await api(path, { method, as: 'bob', json: method === 'GET' ? undefined : { cpu: 1 } });
        assert.equal(res.status, 403, `${method} ${path}`);
      }
      const names = async (who: string) =>
        (await json<Model[]>(await api('/profiles', { as: who }), 200)).map((m) => m.name).sort();
      assert.ok((await names('alice')).includes('physics-lab'), 'alice is in physics');
      assert.ok(!(await names('bob')).includes('physics-lab'), 'bob is not');
      await json(await api('/profiles/physics-lab', { as: 'bob' }), 404);
      const seen = await json<Model>(await api('/profiles/physics-lab', { as: 'alice' }), 200);
      assert.equal(seen.environment, undefined, 'users never see the admin environment');
      assert.equal(seen.author, undefined);
      const anonymous = await fetch(`${h.base}/hub/api/profiles`);
      assert.equal(anonymous.status, 403);
    });

    it('changes apply without a restart: the next spawn gets the new version', async () => {
      await json(
        await api('/profiles/physics-lab', { method: 'PATCH', as: 'root', json: { cpu: 1.5 } }),
        200,
      );
      await json(
        await api('/users/alice/servers/fresh', {
          method: 'POST',
          as: 'alice',
          json: { profile: 'physics-lab' },
        }),
        201,
      );
      assert.equal(spawner.requests.at(-1)?.limits?.nanoCpus, 1.5e9);
      await json(await api('/users/alice/servers/fresh', { method: 'DELETE', as: 'alice' }), 204);
    });
  });

  describe('spawning by profile', () => {
    it('the request carries what the profile says; the server model shows the profile version', async () => {
      await json(
        await api('/profiles/physics-lab', {
          method: 'PATCH',
          as: 'root',
          json: { environment: { OMP_NUM_THREADS: '4', JUPYTER_ENABLE_LAB: 'yes' } },
        }),
        200,
      );
      const before = spawner.requests.length;
      const model = await json<{ user_options: object; profile: { name: string; version: number } }>(
        await api('/users/alice/servers/lab', {
          method: 'POST',
          as: 'alice',
          json: { profile: 'physics-lab' },
        }),
        201,
      );
      const current = await h.hub.ctx.profiles.get('physics-lab');
      assert.deepEqual(model.user_options, { profile: 'physics-lab' });
      assert.deepEqual(model.profile, { name: 'physics-lab', version: current.version });
      const req = spawner.requests[before];
      assert.ok(req);
      assert.equal(req.image, current.spec.image);
      assert.deepEqual(req.limits, { memoryBytes: 3 * 1024 ** 3, nanoCpus: 1.5e9, pids: current.spec.pids });
      assert.deepEqual(req.dataVolumes, [{ volume: 'physics-data', mountPath: '/data' }]);
      assert.equal(req.egress, true);
      assert.equal(req.defaultUrl, '/tree');
      assert.equal(req.env.JUPYTERHUB_DEFAULT_URL, '/tree');
      assert.equal(req.env.OMP_NUM_THREADS, '4', 'the profile environment is merged');
      assert.ok(req.env.JUPYTERHUB_API_TOKEN, 'the protocol environment is intact');
      assert.deepEqual(req.profile, { name: 'physics-lab', version: current.version });
      const user = await json<{ servers: Record<string, { profile: unknown }> }>(
        await api('/users/alice', { as: 'alice' }),
        200,
      );
      assert.deepEqual(user.servers.lab?.profile, model.profile);
      // A newer version does not change what a running server reports.
      await json(await api('/profiles/physics-lab', { method: 'PATCH', as: 'root', json: { cpu: 2 } }), 200);
      const again = await json<{ servers: Record<string, { profile: { version: number } }> }>(
        await api('/users/alice', { as: 'alice' }),
        200,
      );
      assert.equal(again.servers.lab?.profile.version, current.version);
      await json(await api('/users/alice/servers/lab', { method: 'DELETE', as: 'alice' }), 204);
    });

    it('no profile means the default one; its image, with internet off', async () => {
      const before = spawner.requests.length;
      await json(await api('/users/bob/server', { method: 'POST', as: 'bob' }), 201);
      const req = spawner.requests[before];
      assert.equal(req?.image, HARNESS_IMAGE);
      assert.equal(req?.egress, false);
      assert.deepEqual(req?.profile, {
        name: 'default',
        version: (await h.hub.ctx.profiles.get('default')).version,
      });
      await json(await api('/users/bob/server', { method: 'DELETE', as: 'bob' }), 204);
    });

    it('refuses any other option, an unknown, retired or forbidden profile, and starts nothing', async () => {
      const before = spawner.requests.length;
      const bad: [string, unknown, number, RegExp][] = [
        ['an unlisted image', { image: 'evil/miner:1' }, 400, /other than "profile"/],
        [
          'the right repository with another digest',
          { image: `berth/singleuser@${pin('0')}` },
          400,
          /other than "profile"/,
        ],
        ['latest', { image: 'berth/singleuser:latest' }, 400, /other than "profile"/],
        ['a profile plus an image', { profile: 'default', image: 'evil/miner:1' }, 400, /"image"/],
        ['privileged', { privileged: true }, 400, /"privileged"/],
        ['binds', { binds: ['/:/host'] }, 400, /"binds"/],
        ['host network', { network_mode: 'host' }, 400, /"network_mode"/],
        ['env', { env: { LD_PRELOAD: '/tmp/x.so' } }, 400, /"env"/],
        ['cmd', { cmd: ['sh'] }, 400, /"cmd"/],
        ['user 0', { user: '0' }, 400, /"user"/],
        ['resources', { profile: 'default', mem_limit: '64G' }, 400, /"mem_limit"/],
        ['a profile that is not a name', { profile: { image: 'x' } }, 400, /must be the name/],
        ['a list', ['default'], 400, /JSON object/],
        ['an unknown profile', { profile: 'no-such-profile' }, 400, /no such profile/],
        ['a retired profile', { profile: 'temp' }, 400, /retired/],
        [
          "a profile bob's groups do not allow",
          { profile: 'physics-lab' },
          403,
          /may not use profile physics-lab/,
        ],
      ];
      for (const [what, body, status, message] of bad) {
        const res = await api('/users/bob/server', { method: 'POST', as: 'bob', json: body });
        const out = await json<{ message: string }>(res, status).catch((err: Error) =>
          assert.fail(`${what}: ${err.message}`),
        );
        assert.match(out.message, message, what);
      }
      assert.equal(spawner.requests.length, before, 'the spawner heard of none of them');
      assert.equal(
        (await h.hub.ctx.servers.forUser((await h.hub.ctx.users.byName('bob'))?.id ?? -1)).length,
        0,
      );
    });

    it('the web spawn form takes the profile field', async () => {
      // Through the lifecycle the form uses: an unknown profile is refused before anything starts.
      const carol = await h.hub.ctx.users.byName('carol');
      assert.ok(carol);
      await assert.rejects(h.hub.ctx.lifecycle.start(carol, '', { profile: 'no-such' }), {
        code: 'UNKNOWN_PROFILE',
      });
      await assert.rejects(h.hub.ctx.lifecycle.start(carol, '', { profile: 'physics-lab' }), {
        code: 'PROFILE_FORBIDDEN',
      });
    });
  });

  describe('GPUs', () => {
    it('distinct devices per server, a clear 409 when none is free, released on stop', async () => {
      await json(
        await api('/profiles', {
          method: 'POST',
          as: 'root',
          json: { name: 'gpu', image: pin('9'), gpus: 2 },
        }),
        201,
      );
      await json(
        await api('/profiles', {
          method: 'POST',
          as: 'root',
          json: { name: 'gpu1', image: pin('9'), gpus: 1 },
        }),
        201,
      );
      await json(
        await api('/users/bob/servers/g', { method: 'POST', as: 'bob', json: { profile: 'gpu' } }),
        201,
      );
      assert.deepEqual([...(spawner.requests.at(-1)?.gpus ?? [])].sort(), ['GPU-aaa', 'GPU-bbb']);
      const before = spawner.requests.length;
      const refused = await json<{ message: string }>(
        await api('/users/carol/server', { method: 'POST', as: 'carol', json: { profile: 'gpu1' } }),
        409,
      );
      assert.match(refused.message, /no GPU is free/);
      assert.equal(spawner.requests.length, before, 'nothing was started');
      await json(await api('/users/bob/servers/g', { method: 'DELETE', as: 'bob' }), 204);
      await json(
        await api('/users/carol/server', { method: 'POST', as: 'carol', json: { profile: 'gpu1' } }),
        201,
      );
      await json(
        await api('/users/alice/servers/g1', { method: 'POST', as: 'alice', json: { profile: 'gpu1' } }),
        201,
      );
      const [c, a] = spawner.requests.slice(-2).map((r) => r.gpus?.[0]);
      assert.ok(c && a && c !== a, `carol and alice hold distinct GPUs (${c}, ${a})`);
    });

    it('a restarted hub rebuilds the allocation from running servers', async () => {
      const restarted = await createHub(h.hub.ctx.config, {
        spawner,
        routes: h.routes,
        cookieSecret: 'a'.repeat(64),
        log: pino({ level: 'silent' }),
      });
      try {
        await restarted.ctx.lifecycle.sweep();
        const bob = await restarted.ctx.users.byName('bob');
        assert.ok(bob);
        const out = await restarted.ctx.lifecycle.start(bob, 'again', { profile: 'gpu1' });
        assert.equal(out.status, 'refused');
        assert.match(out.status === 'refused' ? out.message : '', /no GPU is free/);
      } finally {
        await restarted.close();
      }
    });
  });
});

/**
 * The Swarm service spec as a pure function: the Docker spawner's hardening in Swarm's words, placement from
 * node labels, reservations within limits, TLS files as secrets, and the refusals that keep bad input out.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planContainer } from '../docker/container-config.ts';
import { SpawnError, type SpawnRequest } from '../spawner.ts';
import type { SwarmClient } from './client.ts';
import { resolveSwarmOptions } from './options.ts';
import { placementConstraints, reservations, serviceSpec } from './service-spec.ts';

const swarm = { createService: async () => ({ id: 'x' }) } as unknown as SwarmClient;
const o = resolveSwarmOptions({
  swarm,
  network: 'berth-users',
  deploymentId: 'dep',
  constraints: ['node.role==worker'],
});
const image = `sha256:${'a'.repeat(64)}`;
const req: SpawnRequest = { user: 'Alice', serverName: '', image, env: { A: '1' }, port: 8888 };

function spec(r: SpawnRequest = req, tls = false) {
  const secrets = tls
    ? {
        key: { id: 'k1', name: 'k' },
        cert: { id: 'c1', name: 'c' },
        clientCa: { id: 'a1', name: 'a' },
      }
    : undefined;
  return serviceSpec(o, planContainer(o, r), r, secrets);
}

describe('serviceSpec', () => {
  test('the hardened container, one replica, never restarted, no published port, DNS round robin', () => {
    const s = spec();
    const t = s.TaskTemplate as { ContainerSpec: Record<string, unknown>; [k: string]: unknown };
    const c = t.ContainerSpec;
    assert.equal(s.Name, 'berth--41lice');
    assert.equal(c.Image, image);
    assert.equal(c.User, '1000:100');
    assert.equal(c.ReadOnly, true);
    assert.deepEqual(c.CapabilityDrop, ['ALL']);
    assert.equal(c.CapabilityAdd, undefined);
    assert.equal(c.Init, true);
    assert.equal(c.Command, undefined, "the image's own command");
    assert.deepEqual(c.Env, ['A=1']);
    assert.deepEqual(c.Mounts, [
      {
        Type: 'volume',
        Source: 'berth-home--41lice',
        Target: '/home/jovyan',
        ReadOnly: false,
        VolumeOptions: {
          Labels: {
            'org.berth.managed': 'true',
            'org.berth.deployment': 'dep',
            'org.berth.user': 'Alice',
            'org.berth.server': '',
          },
        },
      },
      { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 256 * 1024 ** 2, Mode: 0o1777 } },
    ]);
    assert.deepEqual(c.Secrets, []);
    assert.deepEqual(t.Resources, {
      Limits: { MemoryBytes: 2 * 1024 ** 3, NanoCPUs: 1e9, Pids: 1024 },
      Reservations: {},
    });
    assert.deepEqual(t.RestartPolicy, { Condition: 'none', MaxAttempts: 0 });
    assert.deepEqual(t.Placement, { Constraints: ['node.role==worker'] });
    assert.deepEqual(t.Networks, [{ Target: 'berth-users', Aliases: ['berth--41lice'] }]);
    assert.deepEqual(s.Mode, { Replicated: { Replicas: 1 } });
    assert.deepEqual(s.EndpointSpec, { Mode: 'dnsrr', Ports: [] });
    assert.equal(s.Labels?.['org.berth.port'], '8888');
    assert.deepEqual(c.Labels, s.Labels);
  });

  test('profile node labels become constraints after the deployment-wide ones', () => {
    const s = spec({ ...req, placement: { nodeLabels: { gpu: 'a100', 'berth.zone': 'b' } } });
    assert.deepEqual((s.TaskTemplate as { Placement: unknown }).Placement, {
      Constraints: ['node.role==worker', 'node.labels.gpu==a100', 'node.labels.berth.zone==b'],
    });
  });

  test('a label that would inject another constraint is refused', () => {
    const bad: Record<string, string>[] = [
      { 'a==b,node.role': 'x' },
      { ok: 'x,node.role==manager' },
      { ok: '' },
      { ok: 'a b' },
    ];
    for (const nodeLabels of bad) {
      assert.throws(() => placementConstraints({ placement: { nodeLabels } }), SpawnError);
    }
  });

  test('reservations within the limits pass; above them, zero or fractional are refused', () => {
    const limits = { memoryBytes: 100, nanoCpus: 10, pids: 5 };
    assert.deepEqual(reservations({ reservations: { memoryBytes: 100, nanoCpus: 5 } }, limits), {
      MemoryBytes: 100,
      NanoCPUs: 5,
    });
    for (const r of [{ memoryBytes: 101 }, { nanoCpus: 0 }, { nanoCpus: 1.5 }, { memoryBytes: -1 }]) {
      assert.throws(() => reservations({ reservations: r }, limits), { code: 'START_FAILED' });
    }
  });

  test('internal TLS: three secret files owned by the server user, the key 0400, and the https label', () => {
    const s = spec(req, true);
    const c = (s.TaskTemplate as { ContainerSpec: { Secrets: unknown } }).ContainerSpec;
    assert.deepEqual(c.Secrets, [
      {
        SecretID: 'k1',
        SecretName: 'k',
        File: { Name: '/etc/berth/tls/server.key', UID: '1000', GID: '100', Mode: 0o400 },
      },
      {
        SecretID: 'c1',
        SecretName: 'c',
        File: { Name: '/etc/berth/tls/server.crt', UID: '1000', GID: '100', Mode: 0o444 },
      },
      {
        SecretID: 'a1',
        SecretName: 'a',
        File: { Name: '/etc/berth/tls/client-ca.pem', UID: '1000', GID: '100', Mode: 0o444 },
      },
    ]);
    assert.equal(s.Labels?.['org.berth.tls'], 'true');
  });

  test('a name longer than a DNS label is refused rather than cut', () => {
    assert.throws(() => spec({ ...req, user: 'x'.repeat(60) }), /too long for a Swarm service name/);
  });
});

describe('resolveSwarmOptions', () => {
  test('refuses bad constraints, root, unknown options', () => {
    const base = { swarm, network: 'n', deploymentId: 'd' };
    assert.throws(
      () => resolveSwarmOptions({ ...base, constraints: ['node.role==worker,x'] }),
      /constraints/,
    );
    assert.throws(() => resolveSwarmOptions({ ...base, user: '0:0' }), /user/);
    assert.throws(() => resolveSwarmOptions({ ...base, nope: 1 } as never), /nope: unknown option/);
    assert.throws(() => resolveSwarmOptions({ ...base, network: '../x' }), /network/);
  });
});

/**
 * The Swarm service policy, field by field: the service the Swarm spawner sends passes, and each way a
 * compromised hub could weaken it (root, capabilities, host paths, published ports, every node, restarts,
 * no limits, stray secrets) is refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PolicyContext } from './policy.ts';
import { checkSecretCreate, checkServiceCreate } from './swarm-policy.ts';

const ctx: PolicyContext = {
  deploymentId: 'dep',
  prefix: 'berth',
  serverSubnetPool: '10.213.0.0/16',
  egressSubnetPool: '10.212.0.0/16',
};
const ID = `sha256:${'a'.repeat(64)}`;
const SECRET = 'a'.repeat(25);
// biome-ignore lint/suspicious/noExplicitAny: the tests mutate arbitrary JSON bodies
type Body = any;

const labels = {
  'org.berth.managed': 'true',
  'org.berth.deployment': 'dep',
  'org.berth.user': 'alice',
  'org.berth.server': '',
};

/** What SwarmSpawner sends (swarm/service-spec.ts). */
function good(): Body {
  return {
    Name: 'berth-alice',
    Labels: { ...labels, 'org.berth.port': '8888', 'org.berth.tls': 'true' },
    TaskTemplate: {
      ContainerSpec: {
        Image: ID,
        Labels: { ...labels, 'org.berth.port': '8888' },
        Hostname: 'berth-alice',
        Env: ['JUPYTERHUB_API_TOKEN=x'],
        User: '1000:100',
        ReadOnly: true,
        CapabilityDrop: ['ALL'],
        Init: true,
        TTY: false,
        OpenStdin: false,
        StopGracePeriod: 10e9,
        Mounts: [
          {
            Type: 'volume',
            Source: 'berth-home-alice',
            Target: '/home/jovyan',
            ReadOnly: false,
            VolumeOptions: { Labels: labels },
          },
          { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 1024, Mode: 0o1777 } },
        ],
        Secrets: [
          {
            SecretID: SECRET,
            SecretName: 'berth-alice-tls-1-key',
            File: { Name: '/etc/berth/tls/server.key', UID: '1000', GID: '100', Mode: 0o400 },
          },
        ],
      },
      Resources: {
        Limits: { MemoryBytes: 1e9, NanoCPUs: 1e9, Pids: 100 },
        Reservations: { MemoryBytes: 5e8 },
      },
      RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
      Placement: { Constraints: ['node.labels.zone==a'] },
      Networks: [{ Target: 'berth-users', Aliases: ['berth-alice'] }],
      LogDriver: { Name: 'json-file', Options: { 'max-size': '10m', 'max-file': '3' } },
    },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: { Mode: 'dnsrr', Ports: [] },
  };
}

function refused(mutate: (b: Body) => void, pattern: RegExp): void {
  const b = good();
  mutate(b);
  const v = checkServiceCreate(b, ctx);
  assert.equal(v.ok, false, `allowed: ${JSON.stringify(b).slice(0, 200)}`);
  if (!v.ok) assert.match(v.reason, pattern);
}

describe('checkServiceCreate', () => {
  it("passes the spawner's service and names what the engine must confirm", () => {
    const v = checkServiceCreate(good(), ctx);
    assert.deepEqual(v, {
      ok: true,
      needs: {
        image: ID,
        networks: ['berth-users'],
        secrets: [{ id: SECRET, name: 'berth-alice-tls-1-key' }],
        readOnlyVolumes: [],
      },
    });
  });

  it('refuses root, a writable root filesystem, kept or added capabilities', () => {
    refused((b) => delete b.TaskTemplate.ContainerSpec.User, /User/);
    refused((b) => (b.TaskTemplate.ContainerSpec.User = '0:0'), /User/);
    refused((b) => (b.TaskTemplate.ContainerSpec.User = 'root'), /User/);
    refused((b) => (b.TaskTemplate.ContainerSpec.ReadOnly = false), /ReadOnly/);
    refused((b) => (b.TaskTemplate.ContainerSpec.CapabilityDrop = ['NET_RAW']), /CapabilityDrop/);
    refused((b) => (b.TaskTemplate.ContainerSpec.CapabilityAdd = ['SYS_ADMIN']), /capability/);
  });

  it('refuses lower-case twins of fields it checks (Docker decodes names case-insensitively)', () => {
    refused((b) => (b.TaskTemplate.ContainerSpec.readonly = false), /readonly is refused/);
    refused((b) => (b.TaskTemplate.ContainerSpec.capabilityadd = ['ALL']), /capabilityadd is refused/);
    refused((b) => (b.taskTemplate = {}), /taskTemplate is refused/);
  });

  it('refuses host paths in every spelling: bind mounts, driver options, npipe', () => {
    refused(
      (b) => b.TaskTemplate.ContainerSpec.Mounts.push({ Type: 'bind', Source: '/', Target: '/host' }),
      /host paths/,
    );
    refused(
      (b) =>
        (b.TaskTemplate.ContainerSpec.Mounts[0].VolumeOptions.DriverConfig = {
          Name: 'local',
          Options: { type: 'none', o: 'bind', device: '/etc' },
        }),
      /driver configs/,
    );
    refused(
      (b) => b.TaskTemplate.ContainerSpec.Mounts.push({ Type: 'npipe', Source: 'x', Target: '/x' }),
      /refused/,
    );
    refused(
      (b) => (b.TaskTemplate.ContainerSpec.Mounts[1].TmpfsOptions.Options = [['exec']]),
      /tmpfs options/,
    );
  });

  it("refuses writable volumes that are not this deployment's home volumes", () => {
    refused((b) => (b.TaskTemplate.ContainerSpec.Mounts[0].Source = 'other-home-alice'), /writable volume/);
    refused((b) => delete b.TaskTemplate.ContainerSpec.Mounts[0].VolumeOptions, /writable volume/);
    const ro = good();
    ro.TaskTemplate.ContainerSpec.Mounts.push({
      Type: 'volume',
      Source: 'datasets',
      Target: '/d',
      ReadOnly: true,
    });
    const v = checkServiceCreate(ro, ctx);
    assert.ok(v.ok && v.needs.readOnlyVolumes.includes('datasets'), 'a data volume is for the engine check');
  });

  it('refuses published ports, global services and jobs, restarts, missing limits', () => {
    refused((b) => (b.EndpointSpec.Ports = [{ TargetPort: 8888, PublishedPort: 80 }]), /published ports/);
    refused((b) => (b.Mode = { Global: {} }), /one replicated task/);
    refused((b) => (b.Mode = { Replicated: { Replicas: 50 } }), /one replicated task/);
    refused((b) => (b.Mode = { ReplicatedJob: {} }), /one replicated task/);
    refused((b) => (b.TaskTemplate.RestartPolicy = { Condition: 'any' }), /RestartPolicy/);
    refused((b) => delete b.TaskTemplate.Resources, /limits/);
    refused((b) => delete b.TaskTemplate.Resources.Limits.Pids, /pids limit/);
    refused((b) => (b.TaskTemplate.Resources.Limits.MemoryBytes = 0), /memory limit/);
    refused((b) => (b.TaskTemplate.Resources.Reservations.MemoryBytes = 2e9), /within the limit/);
    refused(
      (b) => (b.TaskTemplate.Resources.Reservations.GenericResources = [{ DiscreteResourceSpec: {} }]),
      /generic resources/,
    );
  });

  it('refuses plugins, sysctls, ulimits, privileges, configs, extra hosts, other log drivers', () => {
    refused((b) => (b.TaskTemplate.Runtime = 'plugin'), /only container tasks/);
    refused((b) => (b.TaskTemplate.PluginSpec = { Name: 'x' }), /PluginSpec is refused/);
    refused((b) => (b.TaskTemplate.ContainerSpec.Sysctls = { 'net.ipv4.ip_forward': '1' }), /sysctls/);
    refused(
      (b) => (b.TaskTemplate.ContainerSpec.Ulimits = [{ Name: 'nproc', Soft: 1e6, Hard: 1e6 }]),
      /ulimits/,
    );
    refused(
      (b) => (b.TaskTemplate.ContainerSpec.Privileges = { SELinuxContext: { Disable: true } }),
      /SELinux/,
    );
    refused((b) => (b.TaskTemplate.ContainerSpec.Configs = [{ ConfigID: 'x' }]), /configs/);
    refused((b) => (b.TaskTemplate.ContainerSpec.Hosts = ['10.0.0.1 hub']), /hosts/);
    refused((b) => (b.TaskTemplate.ContainerSpec.Groups = ['docker']), /groups/);
    refused((b) => (b.TaskTemplate.LogDriver = { Name: 'syslog' }), /log drivers/);
  });

  it('refuses unpinned images, foreign labels and names, networks with driver options', () => {
    refused((b) => (b.TaskTemplate.ContainerSpec.Image = 'berth/singleuser:lab'), /pinned/);
    refused((b) => (b.Labels['org.berth.deployment'] = 'other'), /this deployment/);
    refused(
      (b) => (b.TaskTemplate.ContainerSpec.Labels['org.berth.deployment'] = 'other'),
      /this deployment/,
    );
    refused((b) => (b.Name = 'other-alice'), /must start with berth-/);
    refused((b) => (b.TaskTemplate.Networks = []), /networks/);
    refused((b) => (b.TaskTemplate.Networks[0].DriverOpts = { a: 'b' }), /driver options/);
    refused((b) => (b.Networks = [{ Target: 'host' }]), /Networks is refused/);
  });

  it("refuses secrets outside the TLS directory or not owned by the server's user", () => {
    refused((b) => (b.TaskTemplate.ContainerSpec.Secrets[0].File.Name = '/etc/passwd'), /secret files/);
    refused(
      (b) => (b.TaskTemplate.ContainerSpec.Secrets[0].File.Name = '/etc/berth/tls/../../x'),
      /secret files/,
    );
    refused((b) => (b.TaskTemplate.ContainerSpec.Secrets[0].File.UID = '0'), /user/);
    refused((b) => (b.TaskTemplate.ContainerSpec.Secrets[0].SecretID = 'short'), /ID/);
  });
});

describe('checkSecretCreate', () => {
  const secret = () => ({ Name: 'berth-alice-tls-1-key', Labels: labels, Data: 'a2V5' });
  it('passes a labelled, prefixed secret', () => {
    assert.deepEqual(checkSecretCreate(secret(), ctx), { ok: true, needs: undefined });
  });
  it('refuses drivers, templating, foreign names and labels', () => {
    for (const b of [
      { ...secret(), Driver: { Name: 'vault' } },
      { ...secret(), Templating: { Name: 'golang' } },
      { ...secret(), Name: 'other-x' },
      { ...secret(), Labels: { ...labels, 'org.berth.deployment': 'other' } },
      { ...secret(), Data: 'not base64!' },
    ]) {
      assert.equal(checkSecretCreate(b, ctx).ok, false, JSON.stringify(b));
    }
  });
});

/** The hardened create policy, field by field: the body the spawner sends passes, and each weakening is refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkContainerCreate,
  checkNetworkConnect,
  checkNetworkCreate,
  checkVolumeCreate,
  imageAllowed,
  isNonRootUser,
  type PolicyContext,
  repositoryOf,
} from './policy.ts';

const ctx: PolicyContext = {
  deploymentId: 'dep',
  prefix: 'berth',
  serverSubnetPool: '10.213.0.0/16',
  egressSubnetPool: '10.212.0.0/16',
};
const ID = `sha256:${'a'.repeat(64)}`;
// biome-ignore lint/suspicious/noExplicitAny: the tests mutate arbitrary JSON bodies
type Body = any;

const labels = {
  'org.berth.managed': 'true',
  'org.berth.deployment': 'dep',
  'org.berth.user': 'alice',
  'org.berth.server': '',
  'org.berth.port': '8888',
};

/** What DockerSpawner sends (container-config.ts), as dockerode serializes it. */
function good(): Body {
  return {
    name: 'berth-alice',
    Hostname: 'berth-alice',
    Image: ID,
    Env: ['JUPYTERHUB_API_TOKEN=x'],
    User: '1000:100',
    Labels: { ...labels },
    HostConfig: {
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      CapAdd: [],
      SecurityOpt: ['no-new-privileges:true'],
      Privileged: false,
      Memory: 2 ** 30,
      MemorySwap: 2 ** 30,
      NanoCpus: 1e9,
      PidsLimit: 512,
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=1000' },
      Binds: [],
      Mounts: [
        { Type: 'volume', Source: 'berth-home-alice', Target: '/home/jovyan', ReadOnly: false },
        {
          Type: 'volume',
          Source: 'datasets',
          Target: '/data',
          ReadOnly: true,
          VolumeOptions: { NoCopy: true },
        },
      ],
      Devices: [],
      DeviceRequests: [],
      NetworkMode: 'berth-alice-net',
      PortBindings: {},
      PublishAllPorts: false,
      IpcMode: 'private',
      Init: true,
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
    },
  };
}

function check(mutate: (b: Body) => void, name = 'berth-alice') {
  const b = good();
  mutate(b);
  return checkContainerCreate(b, name, ctx);
}

function refused(mutate: (b: Body) => void, pattern: RegExp, name?: string) {
  const v = check(mutate, name);
  assert.equal(v.ok, false, 'refused');
  if (!v.ok) assert.match(v.reason, pattern);
}

describe('container create policy', () => {
  it("passes the spawner's hardened body and names what the engine must confirm", () => {
    const v = check(() => undefined);
    assert.ok(v.ok, v.ok ? '' : v.reason);
    assert.deepEqual(v.needs, {
      image: ID,
      network: 'berth-alice-net',
      volumes: [
        { name: 'berth-home-alice', readOnly: false },
        { name: 'datasets', readOnly: true },
      ],
    });
  });

  const cases: [string, (b: Body) => void, RegExp][] = [
    ['privileged', (b) => (b.HostConfig.Privileged = true), /privileged/],
    [
      'privileged, lower case (Docker matches JSON keys case-insensitively)',
      (b) => (b.HostConfig.privileged = true),
      /privileged is refused/,
    ],
    [
      'HostConfig in lower case',
      (b) => {
        b.hostconfig = { Privileged: true };
      },
      /hostconfig/,
    ],
    ['a capability added', (b) => (b.HostConfig.CapAdd = ['SYS_ADMIN']), /capability/],
    ['capabilities not dropped', (b) => (b.HostConfig.CapDrop = ['NET_RAW']), /CapDrop/],
    ['no-new-privileges missing', (b) => (b.HostConfig.SecurityOpt = []), /no-new-privileges/],
    ['seccomp unconfined', (b) => b.HostConfig.SecurityOpt.push('seccomp=unconfined'), /seccomp/],
    ['apparmor unconfined', (b) => b.HostConfig.SecurityOpt.push('apparmor=unconfined'), /apparmor/],
    ['a writable root filesystem', (b) => (b.HostConfig.ReadonlyRootfs = false), /ReadonlyRootfs/],
    ['root', (b) => (b.User = '0:0'), /root/],
    ['the root group', (b) => (b.User = '1000:0'), /root/],
    ['a user name', (b) => (b.User = 'root'), /numeric/],
    ['no user', (b) => delete b.User, /numeric/],
    ['no memory limit', (b) => delete b.HostConfig.Memory, /memory/],
    ['memory limit 0 (unlimited)', (b) => (b.HostConfig.Memory = 0), /memory/],
    ['swap', (b) => (b.HostConfig.MemorySwap = -1), /MemorySwap/],
    ['no CPU limit', (b) => delete b.HostConfig.NanoCpus, /CPU/],
    ['no pids limit', (b) => delete b.HostConfig.PidsLimit, /pids/],
    ['unlimited pids', (b) => (b.HostConfig.PidsLimit = -1), /pids/],
    ['host network', (b) => (b.HostConfig.NetworkMode = 'host'), /network/],
    ['the default bridge', (b) => (b.HostConfig.NetworkMode = 'bridge'), /network/],
    ["another container's network", (b) => (b.HostConfig.NetworkMode = 'container:abc'), /network/],
    ['host PID namespace', (b) => (b.HostConfig.PidMode = 'host'), /PID/],
    ['host IPC namespace', (b) => (b.HostConfig.IpcMode = 'host'), /IpcMode/],
    ['host UTS namespace', (b) => (b.HostConfig.UTSMode = 'host'), /UTS/],
    ['host user namespace', (b) => (b.HostConfig.UsernsMode = 'host'), /user-namespace/],
    ['host cgroup namespace', (b) => (b.HostConfig.CgroupnsMode = 'host'), /cgroup/],
    [
      'a device',
      (b) => (b.HostConfig.Devices = [{ PathOnHost: '/dev/sda', PathInContainer: '/dev/sda' }]),
      /device/,
    ],
    ['device cgroup rules', (b) => (b.HostConfig.DeviceCgroupRules = ['a *:* rwm']), /cgroup rules/],
    [
      'a non-GPU device request',
      (b) => (b.HostConfig.DeviceRequests = [{ Driver: 'foo', Capabilities: [['foo']] }]),
      /GPU/,
    ],
    ['published ports', (b) => (b.HostConfig.PortBindings = { '8888/tcp': [{ HostPort: '80' }] }), /ports/],
    ['all ports published', (b) => (b.HostConfig.PublishAllPorts = true), /ports/],
    ['a host bind', (b) => (b.HostConfig.Binds = ['/:/host']), /host path/],
    [
      'the Docker socket bound',
      (b) => (b.HostConfig.Binds = ['/var/run/docker.sock:/var/run/docker.sock']),
      /host path/,
    ],
    ['a relative bind', (b) => (b.HostConfig.Binds = ['./x:/x']), /host path/],
    ['a bind mount', (b) => b.HostConfig.Mounts.push({ Type: 'bind', Source: '/', Target: '/host' }), /bind/],
    [
      'the Docker socket as a mount',
      (b) => b.HostConfig.Mounts.push({ Type: 'bind', Source: '/var/run/docker.sock', Target: '/s' }),
      /bind/,
    ],
    ['an anonymous volume', (b) => b.HostConfig.Mounts.push({ Type: 'volume', Target: '/x' }), /anonymous/],
    ['Volumes', (b) => (b.Volumes = { '/x': {} }), /anonymous/],
    [
      'a volume with a bind driver config',
      (b) =>
        b.HostConfig.Mounts.push({
          Type: 'volume',
          Source: 'berth-x',
          Target: '/x',
          VolumeOptions: {
            DriverConfig: { Name: 'local', Options: { type: 'none', o: 'bind', device: '/' } },
          },
        }),
      /driver config/,
    ],
    ['volumes from another container', (b) => (b.HostConfig.VolumesFrom = ['other']), /other containers/],
    ['an executable tmpfs', (b) => (b.HostConfig.Tmpfs = { '/tmp': 'rw,exec' }), /noexec/],
    ['sysctls', (b) => (b.HostConfig.Sysctls = { 'net.ipv4.ip_forward': '1' }), /sysctl/],
    ['a cgroup parent', (b) => (b.HostConfig.CgroupParent = '/'), /cgroup parent/],
    ['unmasked /proc paths', (b) => (b.HostConfig.MaskedPaths = []), /unmasking/i],
    ['the OOM killer off', (b) => (b.HostConfig.OomKillDisable = true), /OOM/],
    ['a restart policy', (b) => (b.HostConfig.RestartPolicy = { Name: 'always' }), /restart/],
    ['another runtime', (b) => (b.HostConfig.Runtime = 'crun-privileged'), /runtime/],
    [
      'a log driver that ships logs elsewhere',
      (b) => (b.HostConfig.LogConfig = { Type: 'syslog' }),
      /log driver/,
    ],
    ['an unknown HostConfig field', (b) => (b.HostConfig.Something = 1), /Something/],
    ['supplementary groups', (b) => (b.HostConfig.GroupAdd = ['0']), /groups/],
    ['no labels', (b) => delete b.Labels, /labels/],
    ["another deployment's labels", (b) => (b.Labels['org.berth.deployment'] = 'other'), /deployment/],
    ['no user label', (b) => delete b.Labels['org.berth.user'], /org.berth.user/],
    ['an image tag', (b) => (b.Image = 'berth/singleuser:lab'), /pinned/],
    ['latest', (b) => (b.Image = 'berth/singleuser:latest'), /pinned/],
    ['a bare repository', (b) => (b.Image = 'berth/singleuser'), /pinned/],
    ['a short image id', (b) => (b.Image = 'sha256:abc'), /pinned/],
    ['no HostConfig', (b) => delete b.HostConfig, /HostConfig/],
    ['a tty', (b) => (b.Tty = true), /Tty/],
    [
      'joining a second network at create',
      (b) => (b.NetworkingConfig = { EndpointsConfig: { other: {} } }),
      /own network/,
    ],
  ];
  for (const [what, mutate, pattern] of cases) it(`refuses ${what}`, () => refused(mutate, pattern));

  it('refuses a name outside the prefix', () => refused(() => undefined, /name/, 'evil'));
  it('refuses a missing name', () => {
    assert.equal(checkContainerCreate(good(), null, ctx).ok, false);
  });
  it('refuses a body that is not an object', () => {
    assert.equal(checkContainerCreate([], 'berth-alice', ctx).ok, false);
    assert.equal(checkContainerCreate(null, 'berth-alice', ctx).ok, false);
  });

  it('accepts a GPU device request', () => {
    const v = check(
      (b) =>
        (b.HostConfig.DeviceRequests = [{ Driver: 'nvidia', DeviceIDs: ['0'], Capabilities: [['gpu']] }]),
    );
    assert.ok(v.ok);
  });

  it('accepts a digest reference', () => {
    assert.ok(check((b) => (b.Image = `berth/singleuser@sha256:${'b'.repeat(64)}`)).ok);
  });

  it('accepts a never-started helper without limits, only with no network at all', () => {
    const helper = (b: Body) => {
      b.NetworkDisabled = true;
      b.HostConfig.NetworkMode = 'none';
      delete b.HostConfig.Memory;
      delete b.HostConfig.MemorySwap;
      delete b.HostConfig.NanoCpus;
      delete b.HostConfig.PidsLimit;
    };
    const v = check(helper);
    assert.ok(v.ok, v.ok ? '' : v.reason);
    refused((b) => {
      helper(b);
      b.NetworkDisabled = false;
    }, /NetworkDisabled/);
    // A helper names only the deployment; a server must name its user and server too.
    const bare = check((b) => {
      helper(b);
      b.Labels = {
        'org.berth.managed': 'true',
        'org.berth.deployment': 'dep',
        'org.berth.role': 'archive-helper',
      };
    });
    assert.ok(bare.ok, bare.ok ? '' : bare.reason);
    refused((b) => {
      helper(b);
      b.HostConfig.Privileged = true;
    }, /privileged/);
  });
});

describe('users', () => {
  it('takes numeric non-root uid[:gid] only', () => {
    for (const u of ['1000', '1000:100', '65534:65534']) assert.ok(isNonRootUser(u), u);
    for (const u of ['0', '0:0', '1000:0', 'root', 'jovyan', '', '1000:100:1', ' 1000', undefined]) {
      assert.ok(!isNonRootUser(u), String(u));
    }
  });
});

describe('volume create policy', () => {
  const vol = { Name: 'berth-home-alice', Labels: labels };
  it('passes a labelled local volume', () => assert.ok(checkVolumeCreate(vol, ctx).ok));
  it('refuses driver options (a bind onto a host path)', () => {
    const v = checkVolumeCreate({ ...vol, DriverOpts: { type: 'none', o: 'bind', device: '/' } }, ctx);
    assert.equal(v.ok, false);
  });
  it('refuses another driver, another prefix, missing labels', () => {
    assert.equal(checkVolumeCreate({ ...vol, Driver: 'nfs' }, ctx).ok, false);
    assert.equal(checkVolumeCreate({ ...vol, Name: 'pgdata' }, ctx).ok, false);
    assert.equal(checkVolumeCreate({ Name: 'berth-x' }, ctx).ok, false);
  });
});

describe('network create policy', () => {
  const server = {
    Name: 'berth-alice-net',
    CheckDuplicate: true,
    Driver: 'bridge',
    Internal: true,
    Labels: labels,
    IPAM: { Driver: 'default', Config: [{ Subnet: '10.213.4.16/28' }] },
  };
  const egress = {
    Name: 'berth-egress',
    CheckDuplicate: true,
    Driver: 'bridge',
    Internal: false,
    Labels: { 'org.berth.managed': 'true', 'org.berth.deployment': 'dep', 'org.berth.egress': 'true' },
    Options: { 'com.docker.network.bridge.enable_icc': 'false' },
    IPAM: { Driver: 'default', Config: [{ Subnet: '10.212.7.0/24' }] },
  };
  it('passes an internal server network from the pool and the egress network', () => {
    assert.ok(checkNetworkCreate(server, ctx).ok);
    assert.ok(checkNetworkCreate(egress, ctx).ok);
  });
  it('refuses a server network that is not internal, or outside the pool', () => {
    assert.equal(checkNetworkCreate({ ...server, Internal: false }, ctx).ok, false);
    assert.equal(
      checkNetworkCreate({ ...server, IPAM: { Config: [{ Subnet: '172.17.0.0/28' }] } }, ctx).ok,
      false,
    );
  });
  it('refuses an egress network outside the filtered range, or with traffic between its containers', () => {
    assert.equal(
      checkNetworkCreate({ ...egress, IPAM: { Config: [{ Subnet: '10.213.0.0/24' }] } }, ctx).ok,
      false,
    );
    assert.equal(checkNetworkCreate({ ...egress, Options: {} }, ctx).ok, false);
    assert.equal(
      checkNetworkCreate(
        { ...egress, Options: { ...egress.Options, 'com.docker.network.bridge.name': 'eth0' } },
        ctx,
      ).ok,
      false,
    );
  });
  it('refuses IPv6, other drivers, attachable networks and unlabelled ones', () => {
    assert.equal(checkNetworkCreate({ ...server, EnableIPv6: true }, ctx).ok, false);
    assert.equal(checkNetworkCreate({ ...server, Driver: 'macvlan' }, ctx).ok, false);
    assert.equal(checkNetworkCreate({ ...server, Attachable: true }, ctx).ok, false);
    assert.equal(checkNetworkCreate({ ...server, Labels: {} }, ctx).ok, false);
  });
  it('connect takes a container and aliases only', () => {
    assert.ok(checkNetworkConnect({ Container: 'abc', EndpointConfig: { Aliases: ['hub'] } }).ok);
    assert.equal(
      checkNetworkConnect({ Container: 'abc', EndpointConfig: { IPAMConfig: { IPv4Address: '1.2.3.4' } } })
        .ok,
      false,
    );
  });
});

describe('images', () => {
  it('reads the repository of a reference', () => {
    assert.equal(repositoryOf('berth/singleuser:lab'), 'berth/singleuser');
    assert.equal(
      repositoryOf(`quay.io/jupyter/base-notebook@sha256:${'c'.repeat(64)}`),
      'quay.io/jupyter/base-notebook',
    );
    assert.equal(repositoryOf('localhost:5000/x/y:1'), 'localhost:5000/x/y');
    assert.equal(repositoryOf('docker.io/library/debian:12'), 'debian');
  });
  it('allows an image only by the engine’s record of its repositories', () => {
    const img = {
      RepoTags: ['berth/singleuser:lab'],
      RepoDigests: [`berth/singleuser@sha256:${'d'.repeat(64)}`],
    };
    assert.ok(imageAllowed(ID, img, ['berth/singleuser']));
    assert.ok(!imageAllowed(ID, img, ['quay.io/jupyter/base-notebook']));
    assert.ok(!imageAllowed(ID, { RepoTags: ['evil/miner:1'] }, ['berth/singleuser']));
    assert.ok(imageAllowed(`berth/singleuser@sha256:${'d'.repeat(64)}`, img, ['berth/singleuser']));
    // The right repository with a digest the image does not have.
    assert.ok(!imageAllowed(`berth/singleuser@sha256:${'0'.repeat(64)}`, img, ['berth/singleuser']));
  });
});

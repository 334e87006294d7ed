/**
 * The hardened-container policy as pure functions of a request body: what `docker inspect` of a Berth server
 * must show (docs/spawner.md#hardening-and-why), checked before Docker hears of the container. Keys are matched
 * exactly and unknown keys are refused: Docker's JSON decoder matches field names case-insensitively, so a
 * `"privileged": true` the checks did not look at would otherwise reach the engine. Checks that need the engine
 * (is the image allowed, are the network and volumes ours) come back as `needs` for the caller to verify.
 */
import { cidrWithin } from './cidr.ts';
import { isOurs, LABEL_EGRESS, LABEL_SERVER, LABEL_USER } from './labels.ts';

export interface PolicyContext {
  readonly deploymentId: string;
  readonly prefix: string;
  readonly serverSubnetPool: string;
  readonly egressSubnetPool: string;
}

export interface CreateNeeds {
  /** An image ID (`sha256:…`) or a digest reference (`repo@sha256:…`). */
  readonly image: string;
  /** The network the container joins; `none` for a never-started helper. */
  readonly network: string;
  /** Named volumes it mounts. */
  readonly volumes: readonly { readonly name: string; readonly readOnly: boolean }[];
}

export type Verdict<T = undefined> =
  | { readonly ok: true; readonly needs: T }
  | { readonly ok: false; readonly reason: string };

const refuse = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** "Empty" as Docker's zero values: absent, null, false, 0, '', [] or {}. */
function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isObject(v)) return Object.keys(v).length === 0;
  return false;
}

function unknownKey(obj: Json, known: ReadonlySet<string>): string | undefined {
  return Object.keys(obj).find((k) => !known.has(k));
}

const CONFIG_KEYS = new Set([
  'name', // dockerode leaves the container name in the body too; Docker ignores it there
  'Hostname',
  'Domainname',
  'User',
  'AttachStdin',
  'AttachStdout',
  'AttachStderr',
  'ExposedPorts',
  'Tty',
  'OpenStdin',
  'StdinOnce',
  'Env',
  'Cmd',
  'Healthcheck',
  'ArgsEscaped',
  'Image',
  'Volumes',
  'WorkingDir',
  'Entrypoint',
  'NetworkDisabled',
  'Labels',
  'StopSignal',
  'StopTimeout',
  'HostConfig',
  'NetworkingConfig',
]);

/** HostConfig keys the policy checks or that cannot weaken isolation. Anything else is refused. */
const HOST_KEYS = new Set([
  'Binds',
  'ContainerIDFile',
  'LogConfig',
  'NetworkMode',
  'PortBindings',
  'RestartPolicy',
  'AutoRemove',
  'VolumeDriver',
  'VolumesFrom',
  'Mounts',
  'CapAdd',
  'CapDrop',
  'CgroupnsMode',
  'Dns',
  'DnsOptions',
  'DnsSearch',
  'ExtraHosts',
  'GroupAdd',
  'IpcMode',
  'Cgroup',
  'Links',
  'OomScoreAdj',
  'PidMode',
  'Privileged',
  'PublishAllPorts',
  'ReadonlyRootfs',
  'SecurityOpt',
  'StorageOpt',
  'Tmpfs',
  'UTSMode',
  'UsernsMode',
  'ShmSize',
  'Sysctls',
  'Runtime',
  'Isolation',
  'Memory',
  'MemorySwap',
  'MemoryReservation',
  'MemorySwappiness',
  'NanoCpus',
  'CpuShares',
  'CpuPeriod',
  'CpuQuota',
  'CpusetCpus',
  'CpusetMems',
  'PidsLimit',
  'Ulimits',
  'Devices',
  'DeviceCgroupRules',
  'DeviceRequests',
  'CgroupParent',
  'OomKillDisable',
  'Init',
  'MaskedPaths',
  'ReadonlyPaths',
  'BlkioWeight',
  'KernelMemory',
]);

/** HostConfig keys that must be absent or empty: each would share something of the host or lift a limit. */
const MUST_BE_EMPTY: readonly [string, string][] = [
  ['Privileged', 'privileged containers are refused'],
  ['CapAdd', 'no capability may be added'],
  ['PublishAllPorts', 'ports are never published'],
  ['VolumesFrom', 'volumes from other containers are refused'],
  ['VolumeDriver', 'volume drivers are refused'],
  ['Devices', 'host devices are refused (GPUs only through DeviceRequests)'],
  ['DeviceCgroupRules', 'device cgroup rules are refused'],
  ['PidMode', 'the host PID namespace (or another container’s) is refused'],
  ['UTSMode', 'the host UTS namespace is refused'],
  ['UsernsMode', 'leaving the engine’s user-namespace setting is refused'],
  ['Cgroup', 'sharing a cgroup is refused'],
  ['CgroupParent', 'another cgroup parent would escape the limits'],
  ['Links', 'links are refused'],
  ['Sysctls', 'sysctls are refused'],
  ['OomKillDisable', 'disabling the OOM killer is refused'],
  ['StorageOpt', 'storage options are refused'],
  ['ContainerIDFile', 'a container ID file is a host path'],
  ['Isolation', 'isolation modes are refused'],
  ['GroupAdd', 'supplementary groups are refused'],
  ['AutoRemove', 'auto-remove is refused (the hub removes its containers)'],
];

const POSITIVE = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;
const DIGEST_REF = /^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$/;

/** A non-root numeric `uid[:gid]`; neither may be 0. Names are refused: `root` or a name mapped to 0 would pass. */
export function isNonRootUser(user: unknown): boolean {
  if (typeof user !== 'string') return false;
  const m = /^(\d{1,10})(?::(\d{1,10}))?$/.exec(user);
  return m !== null && Number(m[1]) !== 0 && (m[2] === undefined || Number(m[2]) !== 0);
}

/** `no-new-privileges` in any of the spellings Docker accepts. */
function isNoNewPrivileges(opt: string): boolean {
  return /^no-new-privileges([:=]true)?$/.test(opt);
}

/** GPUs only: the nvidia driver or the `gpu` capability, nothing else (no arbitrary device drivers). */
function isGpuRequest(r: unknown): boolean {
  if (!isObject(r)) return false;
  if (unknownKey(r, new Set(['Driver', 'Count', 'DeviceIDs', 'Capabilities', 'Options'])) !== undefined)
    return false;
  if (!isEmpty(r.Options)) return false;
  const caps = Array.isArray(r.Capabilities) ? r.Capabilities.flat() : [];
  const gpu = caps.length > 0 && caps.every((c) => c === 'gpu' || c === 'compute' || c === 'utility');
  return (r.Driver === 'nvidia' || (r.Driver ?? '') === '') && gpu;
}

/** Servers also name their user and server; helpers (no network) need only the deployment's labels. */
function checkLabels(labels: unknown, ctx: PolicyContext, server: boolean): string | undefined {
  if (!isObject(labels)) return 'the Berth labels are missing';
  if (!isOurs(labels as Record<string, string>, ctx.deploymentId)) {
    return `labels must mark the container as this deployment's (org.berth.deployment=${ctx.deploymentId})`;
  }
  if (server && (typeof labels[LABEL_USER] !== 'string' || typeof labels[LABEL_SERVER] !== 'string')) {
    return 'the org.berth.user and org.berth.server labels are missing';
  }
  return undefined;
}

function checkMounts(h: Json, needs: { name: string; readOnly: boolean }[]): string | undefined {
  if (h.Binds !== undefined && h.Binds !== null) {
    if (!Array.isArray(h.Binds)) return 'Binds must be a list';
    for (const b of h.Binds) {
      // Only `volume:/path[:opts]`: a source starting with / (or anything not a volume name) is a host path.
      const parts = typeof b === 'string' ? b.split(':') : [];
      const [src, dst, opts = ''] = parts;
      if (parts.length < 2 || parts.length > 3 || !src || !VOLUME_NAME.test(src) || !dst?.startsWith('/')) {
        return `bind ${JSON.stringify(b)} refused: only named Berth volumes may be mounted, never host paths`;
      }
      needs.push({ name: src, readOnly: opts.split(',').includes('ro') });
    }
  }
  if (h.Mounts !== undefined && h.Mounts !== null) {
    if (!Array.isArray(h.Mounts)) return 'Mounts must be a list';
    const known = new Set([
      'Type',
      'Source',
      'Target',
      'ReadOnly',
      'Consistency',
      'VolumeOptions',
      'TmpfsOptions',
    ]);
    for (const m of h.Mounts) {
      if (!isObject(m)) return 'a mount must be an object';
      const bad = unknownKey(m, known);
      if (bad) return `mount field ${bad} is refused`;
      if (typeof m.Target !== 'string' || !m.Target.startsWith('/'))
        return 'a mount needs an absolute Target';
      if (m.Type === 'tmpfs') {
        if (!isEmpty(m.Source) || !isEmpty(m.VolumeOptions)) return 'a tmpfs mount takes no source';
        continue;
      }
      if (m.Type !== 'volume') return `mounts of type ${JSON.stringify(m.Type)} are refused (host paths)`;
      if (typeof m.Source !== 'string' || !VOLUME_NAME.test(m.Source)) {
        return 'a volume mount needs a named volume (anonymous volumes are refused)';
      }
      if (isObject(m.VolumeOptions)) {
        const vo = m.VolumeOptions;
        const badVo = unknownKey(vo, new Set(['NoCopy', 'Labels', 'DriverConfig']));
        if (badVo || !isEmpty(vo.DriverConfig) || !isEmpty(vo.Labels)) {
          return 'volume options are refused (a driver config can bind a host path)';
        }
      } else if (!isEmpty(m.VolumeOptions)) return 'volume options are refused';
      needs.push({ name: m.Source, readOnly: m.ReadOnly === true });
    }
  }
  return undefined;
}

function checkTmpfs(t: unknown): string | undefined {
  if (isEmpty(t)) return undefined;
  if (!isObject(t)) return 'Tmpfs must be a map';
  for (const [path, opts] of Object.entries(t)) {
    const o = typeof opts === 'string' ? opts.split(',') : [];
    if (!path.startsWith('/') || !o.includes('noexec') || !o.includes('nosuid') || o.includes('exec')) {
      return `tmpfs ${path} must be mounted noexec,nosuid`;
    }
  }
  return undefined;
}

/** The hardened policy for POST /containers/create. `name` is the ?name= parameter. */
export function checkContainerCreate(
  body: unknown,
  name: string | null,
  ctx: PolicyContext,
): Verdict<CreateNeeds> {
  if (!isObject(body)) return refuse('the body must be a JSON object');
  const badTop = unknownKey(body, CONFIG_KEYS);
  if (badTop) return refuse(`field ${badTop} is refused`);
  const n = name ?? '';
  if (!n.startsWith(`${ctx.prefix}-`) || !VOLUME_NAME.test(n)) {
    return refuse(`the container name must start with ${ctx.prefix}-`);
  }
  const helperLabels = isObject(body.HostConfig) && body.HostConfig.NetworkMode === 'none';
  const labelErr = checkLabels(body.Labels, ctx, !helperLabels);
  if (labelErr) return refuse(labelErr);
  if (!isNonRootUser(body.User)) return refuse('User must be a numeric uid:gid, neither 0 (no root)');
  if (!isEmpty(body.Volumes)) return refuse('anonymous volumes are refused');
  for (const k of ['AttachStdin', 'OpenStdin', 'Tty'] as const) {
    if (!isEmpty(body[k])) return refuse(`${k} is refused`);
  }
  const image = body.Image;
  if (typeof image !== 'string' || !(IMAGE_ID.test(image) || DIGEST_REF.test(image))) {
    return refuse(
      'the image must be pinned: an image ID (sha256:…) or repository@sha256:digest, never a tag',
    );
  }

  const h = body.HostConfig;
  if (!isObject(h)) return refuse('HostConfig with the hardened settings is required');
  const badHost = unknownKey(h, HOST_KEYS);
  if (badHost) return refuse(`HostConfig.${badHost} is refused`);
  for (const [k, why] of MUST_BE_EMPTY) if (!isEmpty(h[k])) return refuse(`HostConfig.${k}: ${why}`);
  // An empty list here means "unmask everything", so these must be absent, not merely empty.
  for (const k of ['MaskedPaths', 'ReadonlyPaths']) {
    if (h[k] !== undefined && h[k] !== null)
      return refuse(`HostConfig.${k}: unmasking /proc and /sys paths is refused`);
  }

  const drop = Array.isArray(h.CapDrop) ? h.CapDrop : [];
  if (!drop.some((c) => typeof c === 'string' && /^(CAP_)?ALL$/i.test(c))) {
    return refuse('HostConfig.CapDrop must be ["ALL"]');
  }
  const secopt = Array.isArray(h.SecurityOpt) ? h.SecurityOpt : [];
  if (!secopt.some((o) => typeof o === 'string' && isNoNewPrivileges(o))) {
    return refuse('HostConfig.SecurityOpt must hold no-new-privileges:true');
  }
  const otherOpt = secopt.find((o) => typeof o !== 'string' || !isNoNewPrivileges(o));
  if (otherOpt !== undefined) {
    return refuse(
      `security option ${JSON.stringify(otherOpt)} is refused (default seccomp and AppArmor only)`,
    );
  }
  if (h.ReadonlyRootfs !== true) return refuse('HostConfig.ReadonlyRootfs must be true');
  // Without a network a container is a never-started helper (TLS file delivery): the guard refuses to start
  // one, so it needs no limits. Every other setting above still applies to it.
  const helper = h.NetworkMode === 'none';
  if (!helper) {
    if (!POSITIVE(h.Memory)) return refuse('a memory limit (HostConfig.Memory) is required');
    if (h.MemorySwap !== h.Memory) return refuse('HostConfig.MemorySwap must equal Memory (no swap)');
    if (!POSITIVE(h.NanoCpus) && !(POSITIVE(h.CpuQuota) && POSITIVE(h.CpuPeriod))) {
      return refuse('a CPU limit (HostConfig.NanoCpus) is required');
    }
    if (!POSITIVE(h.PidsLimit)) return refuse('a pids limit (HostConfig.PidsLimit) is required');
  } else if (body.NetworkDisabled !== true) {
    return refuse('a container without a network must set NetworkDisabled');
  }
  if (typeof h.OomScoreAdj === 'number' && h.OomScoreAdj < 0)
    return refuse('a negative OomScoreAdj is refused');
  if (!(h.IpcMode === undefined || h.IpcMode === '' || h.IpcMode === 'private' || h.IpcMode === 'none')) {
    return refuse(`IpcMode ${JSON.stringify(h.IpcMode)} is refused`);
  }
  if (!(h.CgroupnsMode === undefined || h.CgroupnsMode === '' || h.CgroupnsMode === 'private')) {
    return refuse('the host cgroup namespace is refused');
  }
  if (!isEmpty(h.PortBindings)) return refuse('published ports (PortBindings) are refused');
  if (!(h.Runtime === undefined || h.Runtime === '' || h.Runtime === 'runc' || h.Runtime === 'nvidia')) {
    return refuse(`runtime ${JSON.stringify(h.Runtime)} is refused`);
  }
  const rp = h.RestartPolicy;
  if (!(isEmpty(rp) || (isObject(rp) && (rp.Name === 'no' || rp.Name === '')))) {
    return refuse('restart policies are refused (the hub decides about restarts)');
  }
  if (isObject(h.LogConfig) && !['', 'json-file', 'local', undefined].includes(h.LogConfig.Type as string)) {
    return refuse('only the json-file and local log drivers are allowed');
  }
  if (!isEmpty(h.DeviceRequests)) {
    if (!Array.isArray(h.DeviceRequests) || !h.DeviceRequests.every(isGpuRequest)) {
      return refuse('only GPU device requests are allowed');
    }
  }
  const tmpfsErr = checkTmpfs(h.Tmpfs);
  if (tmpfsErr) return refuse(tmpfsErr);

  const network = h.NetworkMode;
  if (typeof network !== 'string' || !VOLUME_NAME.test(network) || /^(host|bridge|default)$/.test(network)) {
    return refuse(`network ${JSON.stringify(network)} is refused: only this deployment's networks`);
  }
  if (!isEmpty(body.NetworkingConfig)) {
    const nc = body.NetworkingConfig;
    const eps = isObject(nc) && isObject(nc.EndpointsConfig) ? Object.keys(nc.EndpointsConfig) : undefined;
    if (!isObject(nc) || unknownKey(nc, new Set(['EndpointsConfig'])) || !eps?.every((n) => n === network)) {
      return refuse('the container may only join its own network');
    }
  }

  const volumes: { name: string; readOnly: boolean }[] = [];
  const mountErr = checkMounts(h, volumes);
  if (mountErr) return refuse(mountErr);
  return { ok: true, needs: { image, network, volumes } };
}

/** POST /volumes/create: a named, labelled volume on the local driver, with no driver options. */
export function checkVolumeCreate(body: unknown, ctx: PolicyContext): Verdict {
  if (!isObject(body)) return refuse('the body must be a JSON object');
  const bad = unknownKey(body, new Set(['Name', 'Labels', 'Driver', 'DriverOpts']));
  if (bad) return refuse(`field ${bad} is refused`);
  if (
    typeof body.Name !== 'string' ||
    !body.Name.startsWith(`${ctx.prefix}-`) ||
    !VOLUME_NAME.test(body.Name)
  ) {
    return refuse(`the volume name must start with ${ctx.prefix}-`);
  }
  if (!isOurs(body.Labels as Record<string, string>, ctx.deploymentId)) {
    return refuse("the volume must carry this deployment's labels");
  }
  if (!(body.Driver === undefined || body.Driver === '' || body.Driver === 'local')) {
    return refuse('only the local volume driver is allowed');
  }
  if (!isEmpty(body.DriverOpts)) return refuse('driver options are refused (they can bind a host path)');
  return { ok: true, needs: undefined };
}

const ICC = 'com.docker.network.bridge.enable_icc';

/**
 * POST /networks/create: a labelled bridge, either a per-server `internal` network with a subnet from the server
 * pool, or the deployment's egress network: not internal, no traffic between its containers (ICC off), a subnet
 * from the egress pool, and the egress label. Never IPv6, never attachable, no other driver options.
 */
export function checkNetworkCreate(body: unknown, ctx: PolicyContext): Verdict {
  if (!isObject(body)) return refuse('the body must be a JSON object');
  const known = new Set([
    'Name',
    'CheckDuplicate',
    'Driver',
    'Internal',
    'Attachable',
    'Ingress',
    'IPAM',
    'EnableIPv6',
    'Options',
    'Labels',
  ]);
  const bad = unknownKey(body, known);
  if (bad) return refuse(`field ${bad} is refused`);
  if (
    typeof body.Name !== 'string' ||
    !body.Name.startsWith(`${ctx.prefix}-`) ||
    !VOLUME_NAME.test(body.Name)
  ) {
    return refuse(`the network name must start with ${ctx.prefix}-`);
  }
  const labels = body.Labels as Record<string, string> | undefined;
  if (!isOurs(labels, ctx.deploymentId)) return refuse("the network must carry this deployment's labels");
  if (!(body.Driver === undefined || body.Driver === 'bridge')) return refuse('only bridge networks');
  if (!isEmpty(body.EnableIPv6)) return refuse('IPv6 networks are refused (no firewall rules for them)');
  if (!isEmpty(body.Attachable) || !isEmpty(body.Ingress))
    return refuse('attachable and ingress networks are refused');
  const ipam = body.IPAM;
  const configs = isObject(ipam) && Array.isArray(ipam.Config) ? ipam.Config : [];
  const cfg = configs[0];
  if (
    !isObject(ipam) ||
    unknownKey(ipam, new Set(['Driver', 'Config'])) ||
    !(ipam.Driver === undefined || ipam.Driver === 'default') ||
    configs.length !== 1 ||
    !isObject(cfg) ||
    unknownKey(cfg, new Set(['Subnet'])) ||
    typeof cfg.Subnet !== 'string'
  ) {
    return refuse('exactly one IPAM subnet is required');
  }
  const egress = labels?.[LABEL_EGRESS] === 'true';
  const options = isObject(body.Options) ? body.Options : {};
  if (!isObject(body.Options) && !isEmpty(body.Options)) return refuse('Options must be a map');
  if (egress) {
    if (body.Internal !== false && body.Internal !== undefined)
      return refuse('the egress network is not internal');
    if (!cidrWithin(cfg.Subnet, ctx.egressSubnetPool)) {
      return refuse(
        `the egress network's subnet must lie in ${ctx.egressSubnetPool} (the firewall filters that range)`,
      );
    }
    if (Object.keys(options).length !== 1 || options[ICC] !== 'false') {
      return refuse(`the egress network must set ${ICC}=false and no other option`);
    }
    return { ok: true, needs: undefined };
  }
  if (body.Internal !== true) return refuse('server networks must be internal');
  if (!cidrWithin(cfg.Subnet, ctx.serverSubnetPool)) {
    return refuse(`a server network's subnet must lie in ${ctx.serverSubnetPool}`);
  }
  if (Object.keys(options).length !== 0) return refuse('network driver options are refused');
  return { ok: true, needs: undefined };
}

/** POST /networks/{id}/connect: a container and its DNS aliases, nothing else (no fixed addresses). */
export function checkNetworkConnect(body: unknown): Verdict<{ container: string }> {
  if (!isObject(body)) return refuse('the body must be a JSON object');
  if (unknownKey(body, new Set(['Container', 'EndpointConfig']))) return refuse('unknown field');
  if (typeof body.Container !== 'string' || !VOLUME_NAME.test(body.Container))
    return refuse('Container is required');
  const ep = body.EndpointConfig;
  if (!isEmpty(ep)) {
    if (!isObject(ep) || unknownKey(ep, new Set(['Aliases'])))
      return refuse('only EndpointConfig.Aliases is allowed');
    if (
      !(
        ep.Aliases === undefined ||
        (Array.isArray(ep.Aliases) && ep.Aliases.every((a) => typeof a === 'string'))
      )
    ) {
      return refuse('Aliases must be a list of names');
    }
  }
  return { ok: true, needs: { container: body.Container } };
}

/** POST /networks/{id}/disconnect */
export function checkNetworkDisconnect(body: unknown): Verdict<{ container: string }> {
  if (!isObject(body)) return refuse('the body must be a JSON object');
  if (unknownKey(body, new Set(['Container', 'Force']))) return refuse('unknown field');
  if (typeof body.Container !== 'string' || !VOLUME_NAME.test(body.Container))
    return refuse('Container is required');
  return { ok: true, needs: { container: body.Container } };
}

/** Normalizes a repository for comparison: `docker.io/library/x` and `x` are the same. */
export function normalizeRepository(repo: string): string {
  let r = repo.replace(/^docker\.io\//, '').replace(/^index\.docker\.io\//, '');
  if (r.startsWith('library/')) r = r.slice('library/'.length);
  return r;
}

/** `repo:tag`, `repo@sha256:…`, `host:5000/repo:tag` → `repo` (normalized). */
export function repositoryOf(ref: string): string {
  const noDigest = ref.split('@')[0] ?? '';
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return normalizeRepository(colon > slash ? noDigest.slice(0, colon) : noDigest);
}

/**
 * Is the image allowed? `RepoTags`/`RepoDigests` are the engine's own record of where the image came from.
 * A digest reference must itself name an allowed repository and be one of the image's digests.
 */
export function imageAllowed(
  ref: string,
  image: { RepoTags?: string[] | null; RepoDigests?: string[] | null },
  repositories: readonly string[],
): boolean {
  const allowed = new Set(repositories.map(normalizeRepository));
  if (DIGEST_REF.test(ref)) {
    return (
      allowed.has(repositoryOf(ref)) &&
      (image.RepoDigests ?? []).some(
        (d) => repositoryOf(d) === repositoryOf(ref) && d.endsWith(ref.slice(ref.indexOf('@'))),
      )
    );
  }
  return [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].some((r) => allowed.has(repositoryOf(r)));
}

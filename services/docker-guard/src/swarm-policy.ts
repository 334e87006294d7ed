/**
 * The hardened-server policy for Swarm (POST /services/create, POST /secrets/create) as pure functions of the
 * request body: the same rules as a container create (policy.ts) in Swarm's words. Keys are matched exactly and
 * unknown keys are refused at every level (Docker decodes JSON field names case-insensitively). What needs the
 * engine (the image, the networks and the secrets a service names) comes back as `needs`.
 *
 * A Docker 20.10 service spec cannot ask for no-new-privileges, a private IPC namespace or no swap: those are
 * the nodes' settings (docs/swarm.md#nodes).
 */
import { isOurs, LABEL_SERVER, LABEL_USER } from './labels.ts';
import { isNonRootUser, type PolicyContext, type Verdict } from './policy.ts';

export interface ServiceNeeds {
  readonly image: string;
  /** Network targets (names or IDs) the task joins. */
  readonly networks: readonly string[];
  /** Secret IDs with the name the spec gives each. */
  readonly secrets: readonly { readonly id: string; readonly name: string }[];
  /** Named volumes mounted read-only that are not the deployment's own (data volumes). */
  readonly readOnlyVolumes: readonly string[];
}

type Json = Record<string, unknown>;
const refuse = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isObject(v)) return Object.keys(v).length === 0;
  return false;
}

function unknownKey(obj: Json, known: readonly string[]): string | undefined {
  return Object.keys(obj).find((k) => !known.includes(k));
}

const POSITIVE = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const SERVICE_NAME = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+){0,62}$/;
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;
const DIGEST_REF = /^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$/;
const SECRET_ID = /^[a-z0-9]{25}$/;
/** Where a server's TLS files go; the only place a secret may appear. */
const SECRET_DIR = '/etc/berth/tls/';

const SERVICE_KEYS = [
  'Name',
  'Labels',
  'TaskTemplate',
  'Mode',
  'EndpointSpec',
  'UpdateConfig',
  'RollbackConfig',
  'Networks',
];
const TASK_KEYS = [
  'ContainerSpec',
  'Resources',
  'RestartPolicy',
  'Placement',
  'Networks',
  'LogDriver',
  'ForceUpdate',
  'Runtime',
];
const CONTAINER_KEYS = [
  'Image',
  'Labels',
  'Command',
  'Args',
  'Hostname',
  'Env',
  'Dir',
  'User',
  'Init',
  'TTY',
  'OpenStdin',
  'ReadOnly',
  'Mounts',
  'StopSignal',
  'StopGracePeriod',
  'Secrets',
  'CapabilityAdd',
  'CapabilityDrop',
  // Must be empty: each would loosen the container or reach outside it.
  'Groups',
  'Privileges',
  'Sysctls',
  'Ulimits',
  'Isolation',
  'Hosts',
  'DNSConfig',
  'Configs',
  'HealthCheck',
];
const MUST_BE_EMPTY: readonly [string, string][] = [
  ['CapabilityAdd', 'no capability may be added'],
  ['Groups', 'supplementary groups are refused'],
  ['Privileges', 'credential specs and SELinux contexts are refused'],
  ['Sysctls', 'sysctls are refused'],
  ['Ulimits', 'ulimits are refused (they could lift limits)'],
  ['Isolation', 'isolation modes are refused'],
  ['Hosts', 'extra hosts entries are refused'],
  ['DNSConfig', 'DNS settings are refused'],
  ['Configs', 'Swarm configs are refused'],
  ['TTY', 'a TTY is refused'],
  ['OpenStdin', 'stdin is refused'],
];

/** The Berth labels a service (and its container spec) must carry. */
function labelError(labels: unknown, ctx: PolicyContext, where: string): string | undefined {
  if (!isObject(labels) || !isOurs(labels as Record<string, string>, ctx.deploymentId)) {
    return `${where} must mark the service as this deployment's (org.berth.deployment=${ctx.deploymentId})`;
  }
  if (typeof labels[LABEL_USER] !== 'string' || typeof labels[LABEL_SERVER] !== 'string') {
    return `${where} must name the user and the server`;
  }
  return undefined;
}

function checkMounts(mounts: unknown, ctx: PolicyContext, readOnlyVolumes: string[]): string | undefined {
  if (isEmpty(mounts)) return undefined;
  if (!Array.isArray(mounts)) return 'Mounts must be a list';
  for (const m of mounts) {
    if (!isObject(m)) return 'a mount must be an object';
    const bad = unknownKey(m, [
      'Type',
      'Source',
      'Target',
      'ReadOnly',
      'Consistency',
      'VolumeOptions',
      'TmpfsOptions',
    ]);
    if (bad) return `mount field ${bad} is refused`;
    if (typeof m.Target !== 'string' || !m.Target.startsWith('/')) return 'a mount needs an absolute Target';
    if (m.Type === 'tmpfs') {
      if (!isEmpty(m.Source) || !isEmpty(m.VolumeOptions)) return 'a tmpfs mount takes no source';
      // Size and mode only: a Mounts tmpfs is noexec,nosuid,nodev, and `Options` could undo that.
      if (isObject(m.TmpfsOptions) && unknownKey(m.TmpfsOptions, ['SizeBytes', 'Mode'])) {
        return 'tmpfs options other than SizeBytes and Mode are refused';
      }
      continue;
    }
    if (m.Type !== 'volume') return `mounts of type ${JSON.stringify(m.Type)} are refused (host paths)`;
    if (typeof m.Source !== 'string' || !NAME.test(m.Source)) return 'a volume mount needs a named volume';
    if (!isEmpty(m.TmpfsOptions)) return 'tmpfs options on a volume are refused';
    if (isObject(m.VolumeOptions)) {
      const vo = m.VolumeOptions;
      // A local driver with options mounts any host path (type=none,o=bind,device=/): no driver config at all.
      if (unknownKey(vo, ['NoCopy', 'Labels', 'DriverConfig']) || !isEmpty(vo.DriverConfig)) {
        return 'volume driver configs are refused (they can bind a host path)';
      }
    } else if (!isEmpty(m.VolumeOptions)) return 'volume options are refused';
    // The node creates the volume where the task lands, so it cannot be inspected here: a writable volume must
    // be one of this deployment's names and be created with its labels.
    if (m.ReadOnly === true && !m.Source.startsWith(`${ctx.prefix}-`)) {
      readOnlyVolumes.push(m.Source);
      continue;
    }
    const labels = isObject(m.VolumeOptions) ? m.VolumeOptions.Labels : undefined;
    if (
      !m.Source.startsWith(`${ctx.prefix}-home-`) ||
      !isOurs(labels as Record<string, string>, ctx.deploymentId)
    ) {
      return `volume ${m.Source} refused: a writable volume must be a ${ctx.prefix}-home-… volume with this deployment's labels`;
    }
  }
  return undefined;
}

function checkSecrets(
  secrets: unknown,
  user: string,
  out: { id: string; name: string }[],
): string | undefined {
  if (isEmpty(secrets)) return undefined;
  if (!Array.isArray(secrets)) return 'Secrets must be a list';
  const [uid, gid = ''] = user.split(':');
  for (const s of secrets) {
    if (!isObject(s) || unknownKey(s, ['File', 'SecretID', 'SecretName']))
      return 'a secret reference has unknown fields';
    const f = s.File;
    if (!isObject(f) || unknownKey(f, ['Name', 'UID', 'GID', 'Mode'])) return 'a secret must be a file';
    if (
      typeof f.Name !== 'string' ||
      !f.Name.startsWith(SECRET_DIR) ||
      f.Name.slice(SECRET_DIR.length).includes('/')
    ) {
      return `secret files go in ${SECRET_DIR} only`;
    }
    if (f.UID !== uid || f.GID !== gid) return "a secret file must belong to the server's user";
    if (typeof s.SecretID !== 'string' || !SECRET_ID.test(s.SecretID) || typeof s.SecretName !== 'string') {
      return 'a secret is named by its ID and name';
    }
    out.push({ id: s.SecretID, name: s.SecretName });
  }
  return undefined;
}

function checkResources(r: unknown): string | undefined {
  if (!isObject(r) || unknownKey(r, ['Limits', 'Reservations'])) return 'Resources with limits are required';
  const l = r.Limits;
  if (!isObject(l) || unknownKey(l, ['MemoryBytes', 'NanoCPUs', 'Pids']))
    return 'Resources.Limits has unknown fields';
  if (!POSITIVE(l.MemoryBytes)) return 'a memory limit (Resources.Limits.MemoryBytes) is required';
  if (!POSITIVE(l.NanoCPUs)) return 'a CPU limit (Resources.Limits.NanoCPUs) is required';
  if (!POSITIVE(l.Pids)) return 'a pids limit (Resources.Limits.Pids) is required';
  const res = r.Reservations;
  if (isEmpty(res)) return undefined;
  if (!isObject(res) || unknownKey(res, ['MemoryBytes', 'NanoCPUs'])) {
    return 'only memory and CPU reservations are allowed (no generic resources)';
  }
  if (res.MemoryBytes !== undefined && !(POSITIVE(res.MemoryBytes) && res.MemoryBytes <= l.MemoryBytes)) {
    return 'the memory reservation must be within the limit';
  }
  if (res.NanoCPUs !== undefined && !(POSITIVE(res.NanoCPUs) && res.NanoCPUs <= l.NanoCPUs)) {
    return 'the CPU reservation must be within the limit';
  }
  return undefined;
}

function checkTaskNetworks(nets: unknown, out: string[]): string | undefined {
  if (!Array.isArray(nets) || nets.length === 0) return 'a server joins exactly the networks it names';
  for (const n of nets) {
    if (!isObject(n) || unknownKey(n, ['Target', 'Aliases', 'DriverOpts']))
      return 'a network attachment has unknown fields';
    if (typeof n.Target !== 'string' || !NAME.test(n.Target)) return 'a network attachment needs a Target';
    if (!isEmpty(n.DriverOpts)) return 'network driver options are refused';
    if (
      !(
        n.Aliases === undefined ||
        (Array.isArray(n.Aliases) && n.Aliases.every((a) => typeof a === 'string' && NAME.test(a)))
      )
    ) {
      return 'Aliases must be a list of names';
    }
    out.push(n.Target);
  }
  return undefined;
}

/** POST /services/create: one hardened, labelled, never-restarted replica on this deployment's networks. */
export function checkServiceCreate(body: unknown, ctx: PolicyContext): Verdict<ServiceNeeds> {
  if (!isObject(body)) return refuse('the body must be a JSON object');
  const badTop = unknownKey(body, SERVICE_KEYS);
  if (badTop) return refuse(`field ${badTop} is refused`);
  for (const k of ['UpdateConfig', 'RollbackConfig', 'Networks']) {
    if (!isEmpty(body[k])) return refuse(`${k} is refused`);
  }
  if (
    typeof body.Name !== 'string' ||
    !body.Name.startsWith(`${ctx.prefix}-`) ||
    !SERVICE_NAME.test(body.Name)
  ) {
    return refuse(`the service name must start with ${ctx.prefix}-`);
  }
  const le = labelError(body.Labels, ctx, 'the service labels');
  if (le) return refuse(le);
  const mode = body.Mode;
  const replicas = isObject(mode) && isObject(mode.Replicated) ? mode.Replicated.Replicas : undefined;
  if (
    !isObject(mode) ||
    unknownKey(mode, ['Replicated']) ||
    !isObject(mode.Replicated) ||
    unknownKey(mode.Replicated, ['Replicas']) ||
    !(replicas === 0 || replicas === 1)
  ) {
    return refuse('a server is one replicated task (global services and jobs are refused)');
  }
  const ep = body.EndpointSpec;
  if (!isEmpty(ep)) {
    if (!isObject(ep) || unknownKey(ep, ['Mode', 'Ports'])) return refuse('EndpointSpec has unknown fields');
    if (!isEmpty(ep.Ports)) return refuse('published ports are refused');
    if (!(ep.Mode === undefined || ep.Mode === 'vip' || ep.Mode === 'dnsrr'))
      return refuse('unknown endpoint mode');
  }

  const t = body.TaskTemplate;
  if (!isObject(t)) return refuse('TaskTemplate is required');
  const badTask = unknownKey(t, TASK_KEYS);
  if (badTask) return refuse(`TaskTemplate.${badTask} is refused`);
  if (!(t.Runtime === undefined || t.Runtime === '' || t.Runtime === 'container'))
    return refuse('only container tasks');
  const rp = t.RestartPolicy;
  if (
    !isObject(rp) ||
    unknownKey(rp, ['Condition', 'MaxAttempts', 'Delay', 'Window']) ||
    rp.Condition !== 'none'
  ) {
    return refuse('RestartPolicy.Condition must be none (the hub decides about restarts)');
  }
  const resErr = checkResources(t.Resources);
  if (resErr) return refuse(resErr);
  const p = t.Placement;
  if (!isEmpty(p)) {
    if (!isObject(p) || unknownKey(p, ['Constraints', 'Preferences', 'MaxReplicas']))
      return refuse('Placement has unknown fields');
    if (
      !(
        p.Constraints === undefined ||
        (Array.isArray(p.Constraints) && p.Constraints.every((c) => typeof c === 'string'))
      )
    ) {
      return refuse('constraints must be strings');
    }
  }
  const ld = t.LogDriver;
  if (!isEmpty(ld)) {
    if (
      !isObject(ld) ||
      unknownKey(ld, ['Name', 'Options']) ||
      !['json-file', 'local'].includes(ld.Name as string)
    ) {
      return refuse('only the json-file and local log drivers are allowed');
    }
  }
  const networks: string[] = [];
  const netErr = checkTaskNetworks(t.Networks, networks);
  if (netErr) return refuse(netErr);

  const c = t.ContainerSpec;
  if (!isObject(c)) return refuse('ContainerSpec with the hardened settings is required');
  const badC = unknownKey(c, CONTAINER_KEYS);
  if (badC) return refuse(`ContainerSpec.${badC} is refused`);
  for (const [k, why] of MUST_BE_EMPTY) if (!isEmpty(c[k])) return refuse(`ContainerSpec.${k}: ${why}`);
  const cle = labelError(c.Labels, ctx, 'the container labels');
  if (cle) return refuse(cle);
  if (!isNonRootUser(c.User)) return refuse('User must be a numeric uid:gid, neither 0 (no root)');
  if (c.ReadOnly !== true) return refuse('ContainerSpec.ReadOnly must be true');
  const drop = Array.isArray(c.CapabilityDrop) ? c.CapabilityDrop : [];
  if (!drop.some((x) => typeof x === 'string' && /^(CAP_)?ALL$/i.test(x)))
    return refuse('ContainerSpec.CapabilityDrop must be ["ALL"]');
  const image = c.Image;
  if (typeof image !== 'string' || !(IMAGE_ID.test(image) || DIGEST_REF.test(image))) {
    return refuse(
      'the image must be pinned: an image ID (sha256:…) or repository@sha256:digest, never a tag',
    );
  }
  const readOnlyVolumes: string[] = [];
  const mErr = checkMounts(c.Mounts, ctx, readOnlyVolumes);
  if (mErr) return refuse(mErr);
  const secrets: { id: string; name: string }[] = [];
  const sErr = checkSecrets(c.Secrets, c.User as string, secrets);
  if (sErr) return refuse(sErr);
  return { ok: true, needs: { image, networks, secrets, readOnlyVolumes } };
}

/** POST /secrets/create: a labelled secret named with the prefix; no driver, no templating. */
export function checkSecretCreate(body: unknown, ctx: PolicyContext): Verdict {
  if (!isObject(body)) return refuse('the body must be a JSON object');
  const bad = unknownKey(body, ['Name', 'Labels', 'Data']);
  if (bad) return refuse(`field ${bad} is refused`);
  if (
    typeof body.Name !== 'string' ||
    !body.Name.startsWith(`${ctx.prefix}-`) ||
    !NAME.test(body.Name) ||
    body.Name.length > 64
  ) {
    return refuse(`the secret name must start with ${ctx.prefix}-`);
  }
  if (!isObject(body.Labels) || !isOurs(body.Labels as Record<string, string>, ctx.deploymentId)) {
    return refuse("the secret must carry this deployment's labels");
  }
  if (typeof body.Data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(body.Data))
    return refuse('Data must be base64');
  return { ok: true, needs: undefined };
}

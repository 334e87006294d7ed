/**
 * The Swarm stack file, derived from docker-compose.yml and the small override docker-stack.yml
 * (docs/swarm.md#berth-as-a-stack). docker-compose.yml stays the one description of Berth's services (images,
 * environment, health checks, networks); this does only what a Compose file cannot say to `docker stack deploy`
 * (Docker 20.10 validates every -c file on its own against the 3.x schema, so an override alone cannot
 * drop what Compose needs and Swarm refuses):
 *
 * - one-shot services (`restart: "no"`: init, firewall) and optional ones (`profiles:`, the demos) are left
 *   out. The init step runs before the deploy instead (`berth stack-file` creates the secret files), and the
 *   firewall's job has no Swarm counterpart: servers on Swarm get no egress (docs/swarm.md);
 * - a volume a one-shot fills under /secrets/<dir> becomes one Swarm secret per file of <secrets>/<dir>,
 *   mounted at the same path, owned by the service's `x-secrets-owner`, mode 0400. Secrets and configs are
 *   named by their content's hash, so a changed file (a re-issued certificate) is a new object that the
 *   services roll over to, never an update Swarm refuses;
 * - keys Swarm ignores or refuses go (build, restart, depends_on, network_mode, security_opt, group_add,
 *   container_name); `tmpfs` and `shm_size` become tmpfs mounts (Swarm mounts them noexec,nosuid,nodev);
 * - every network becomes an overlay network (the override may add its own).
 *
 * The override is then merged in: maps merge key by key, anything else (lists, scalars) replaces, null
 * removes. `${VAR:-default}` references are kept for `docker stack deploy` to fill from the environment.
 */

/** A YAML mapping, as parsed. */
type Dict = Record<string, unknown>;

/** One file of the secrets directory: its path as the stack file names it, and its content's SHA-256. */
export interface SecretFile {
  /** Relative to its volume's directory, e.g. `tls/hub.key`. */
  readonly rel: string;
  /** As written into the stack file's `file:` (relative to the stack file, or absolute). */
  readonly path: string;
  readonly sha256: string;
}

export interface StackFileInput {
  readonly compose: Dict;
  readonly override: Dict;
  /** The files of `<secrets>/<dir>` (init's /secrets/<dir>), every regular file, recursively. */
  readonly secretFiles: (dir: string) => readonly SecretFile[];
  /** SHA-256 of a file the override names under `configs:` (its `file:` as written). */
  readonly hashFile: (path: string) => string;
}

export interface StackFile {
  readonly stack: Dict;
  /** What was left out or changed, one line each, for the operator (stderr). */
  readonly notes: readonly string[];
}

export class StackFileError extends Error {
  readonly code = 'STACK_FILE_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'StackFileError';
  }
}

/** The Compose file version written; Docker 20.10 reads up to 3.9. */
export const STACK_VERSION = '3.8';
/** Where the init step writes (BERTH_SECRETS_DIR of the init service). */
const INIT_SECRETS_ROOT = '/secrets/';
/** Secrets are files only their owner reads. */
const SECRET_MODE = 0o400;

/** Service keys a stack cannot use, and why (the notes say it). */
const DROPPED: Readonly<Record<string, string>> = {
  build: 'images come from the nodes or a registry',
  restart: 'Swarm restarts every task that ends (deploy.restart_policy)',
  depends_on: 'Swarm starts services in no order; the hub waits for the database and re-syncs the proxy',
  network_mode: 'a service is always on an overlay network',
  security_opt: "no-new-privileges is the node's (daemon.json), see docs/swarm.md#nodes",
  group_add: 'the override sets the group in `user`',
  container_name: 'Swarm names tasks',
};

const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A one-shot: Compose runs it once (`restart: "no"`); a stack has no such service. */
function isOneShot(s: Dict): boolean {
  return s.restart === 'no' || s.restart === false;
}

/** `64m`, `1g`, `512k`, `1024` → bytes. */
export function parseSize(raw: string | number): number {
  if (typeof raw === 'number') return raw;
  const m = /^(\d+)([bkmg]?)b?$/i.exec(raw.trim());
  if (!m) throw new StackFileError(`cannot read the size ${JSON.stringify(raw)}`);
  const unit = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Number(m[1]) * unit;
}

/** `/tmp:size=64m,noexec` → a tmpfs mount of that size (Swarm's tmpfs mounts are noexec,nosuid,nodev). */
function tmpfsMount(entry: string): Dict {
  const [target = '', options = ''] = entry.split(':');
  const size = options
    .split(',')
    .map((o) => o.split('='))
    .find(([k]) => k === 'size')?.[1];
  return { type: 'tmpfs', target, ...(size ? { tmpfs: { size: parseSize(size) } } : {}) };
}

/** A short-syntax volume `source:target[:mode]`, or the long form, as source and target. */
function volumeParts(v: unknown): { source: string; target: string } {
  if (typeof v === 'string') {
    const [source = '', target = ''] = v.split(':');
    return { source, target };
  }
  if (isDict(v)) return { source: String(v.source ?? ''), target: String(v.target ?? '') };
  throw new StackFileError(`cannot read the volume ${JSON.stringify(v)}`);
}

/**
 * `hub`, `tls/hub.key`, its hash → a secret key the 3.x schema takes (`[a-zA-Z0-9._-]+`). At most 50
 * characters: Swarm names are at most 64, and the stack's name and `_` come first.
 */
export function secretKey(dir: string, rel: string, sha256: string): string {
  return `${`${dir}_${rel.replace(/[^a-zA-Z0-9-]/g, '_')}`.slice(0, 37)}_${sha256.slice(0, 12)}`;
}

function ownerOf(name: string, override: Dict | undefined): [string, string] {
  const raw = override?.['x-secrets-owner'];
  const m = typeof raw === 'string' ? /^(\d+):(\d+)$/.exec(raw) : null;
  if (!m) {
    throw new StackFileError(
      `service ${name} mounts secrets: the override must give it x-secrets-owner: "<uid>:<gid>"`,
    );
  }
  return [m[1] as string, m[2] as string];
}

/** Maps merge key by key; lists and scalars replace; null removes. */
export function mergeOverride(base: Dict, over: Dict): Dict {
  const out: Dict = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else if (isDict(v) && isDict(out[k])) out[k] = mergeOverride(out[k] as Dict, v);
    else out[k] = v;
  }
  return out;
}

/** Names of the named volumes a service mounts (not binds, not tmpfs). */
function namedVolumes(service: Dict): string[] {
  const names: string[] = [];
  for (const v of (service.volumes as unknown[] | undefined) ?? []) {
    if (isDict(v) && v.type !== undefined && v.type !== 'volume') continue;
    const { source } = volumeParts(v);
    if (source && !source.startsWith('.') && !source.startsWith('/') && !source.startsWith('~'))
      names.push(source);
  }
  return names;
}

export function stackFile(input: StackFileInput): StackFile {
  const notes: string[] = [];
  const composeServices = input.compose.services;
  if (!isDict(composeServices)) throw new StackFileError('the compose file has no services');
  const overServices = (input.override.services ?? {}) as Record<string, Dict>;
  if (!isDict(overServices)) throw new StackFileError('the override has no services map');

  // Which volumes a one-shot fills under /secrets/<dir>: on Swarm, those become secrets.
  const secretVolumes = new Map<string, string>();
  const kept: [string, Dict][] = [];
  for (const [name, raw] of Object.entries(composeServices)) {
    if (!isDict(raw)) throw new StackFileError(`service ${name} is not a mapping`);
    if (isOneShot(raw)) {
      let fills = false;
      for (const v of (raw.volumes as unknown[] | undefined) ?? []) {
        const { source, target } = volumeParts(v);
        if (!target.startsWith(INIT_SECRETS_ROOT)) continue;
        secretVolumes.set(source, target.slice(INIT_SECRETS_ROOT.length));
        fills = true;
      }
      notes.push(
        fills
          ? `${name}: left out (a one-shot; \`berth stack-file\` did its job, its volumes are Swarm secrets)`
          : `${name}: left out (a one-shot with no Swarm counterpart, see docs/swarm.md)`,
      );
      continue;
    }
    if (raw.profiles !== undefined) {
      notes.push(`${name}: left out (optional, profiles ${JSON.stringify(raw.profiles)})`);
      continue;
    }
    kept.push([name, raw]);
  }
  for (const name of Object.keys(overServices)) {
    if (!kept.some(([k]) => k === name))
      throw new StackFileError(`the override names service ${name}, which the stack does not have`);
  }

  const secrets: Dict = {};
  const services: Dict = {};
  for (const [name, raw] of kept) {
    const s: Dict = {};
    const dropped: string[] = [];
    for (const [k, v] of Object.entries(raw)) {
      if (k in DROPPED) dropped.push(k);
      else if (k !== 'tmpfs' && k !== 'shm_size') s[k] = v;
    }
    if (dropped.length > 0) notes.push(`${name}: ${dropped.map((k) => `${k} (${DROPPED[k]})`).join('; ')}`);

    const volumes: unknown[] = [];
    const refs: Dict[] = [];
    for (const v of (raw.volumes as unknown[] | undefined) ?? []) {
      const { source, target } = volumeParts(v);
      const dir = secretVolumes.get(source);
      if (dir === undefined) {
        volumes.push(v);
        continue;
      }
      const [uid, gid] = ownerOf(name, overServices[name]);
      const files = input.secretFiles(dir);
      if (files.length === 0)
        throw new StackFileError(`the secrets of ${source} (${dir}/) are missing: run the init step first`);
      for (const f of files) {
        const key = secretKey(dir, f.rel, f.sha256);
        secrets[key] = { file: f.path };
        refs.push({ source: key, target: `${target}/${f.rel}`, uid, gid, mode: SECRET_MODE });
      }
    }
    const tmpfs = raw.tmpfs === undefined ? [] : ([] as unknown[]).concat(raw.tmpfs);
    for (const t of tmpfs) volumes.push(tmpfsMount(String(t)));
    if (raw.shm_size !== undefined)
      volumes.push({ type: 'tmpfs', target: '/dev/shm', tmpfs: { size: parseSize(raw.shm_size as string) } });
    if (volumes.length > 0) s.volumes = volumes;
    else delete s.volumes;
    if (refs.length > 0) s.secrets = refs;

    const over = overServices[name] ?? {};
    const merged = mergeOverride(
      s,
      Object.fromEntries(Object.entries(over).filter(([k]) => !k.startsWith('x-'))),
    );
    // A bind of a path on the deploying machine would name a path on whichever node runs the task.
    for (const v of (merged.volumes as unknown[] | undefined) ?? []) {
      const { source } = volumeParts(v);
      if (source.startsWith('.') || source.startsWith('~'))
        throw new StackFileError(
          `service ${name} binds ${source} of this machine; on a swarm use configs (override its volumes)`,
        );
    }
    services[name] = merged;
  }

  // Configs the override names by file: keyed by content too, references renamed to match.
  const configs: Dict = {};
  const configKeys = new Map<string, string>();
  for (const [key, c] of Object.entries((input.override.configs as Dict | undefined) ?? {})) {
    if (!isDict(c) || typeof c.file !== 'string')
      throw new StackFileError(`config ${key}: the override must give its file`);
    if (c.file.includes('$'))
      throw new StackFileError(`config ${key}: write its file as a plain path (it is read to name it)`);
    const hashed = `${key}_${input.hashFile(c.file).slice(0, 12)}`;
    configKeys.set(key, hashed);
    configs[hashed] = c;
  }
  for (const s of Object.values(services) as Dict[]) {
    if (!Array.isArray(s.configs)) continue;
    s.configs = s.configs.map((ref: unknown) => {
      const source = typeof ref === 'string' ? ref : isDict(ref) ? String(ref.source) : '';
      const hashed = configKeys.get(source);
      if (!hashed) throw new StackFileError(`config ${source} is not in the override's configs`);
      return typeof ref === 'string'
        ? { source: hashed, target: `/${source}` }
        : { ...(ref as Dict), source: hashed };
    });
  }

  // Compose's networks and the override's own, all overlay networks unless the override says otherwise.
  const networks: Dict = {};
  const composeNetworks = (input.compose.networks as Dict | undefined) ?? {};
  const overNetworks = (input.override.networks as Dict | undefined) ?? {};
  for (const key of new Set([...Object.keys(composeNetworks), ...Object.keys(overNetworks)])) {
    const n = composeNetworks[key];
    networks[key] = mergeOverride(
      { ...(isDict(n) ? n : {}), driver: 'overlay' },
      (overNetworks[key] as Dict | undefined) ?? {},
    );
  }
  const used = new Set(Object.values(services).flatMap((s) => namedVolumes(s as Dict)));
  const volumes: Dict = {};
  for (const [key, v] of Object.entries((input.compose.volumes as Dict | undefined) ?? {})) {
    if (used.has(key)) volumes[key] = v ?? {};
  }
  for (const key of used) {
    if (!(key in volumes)) throw new StackFileError(`volume ${key} is used but not declared`);
  }

  return {
    stack: {
      version: STACK_VERSION,
      services,
      networks,
      volumes,
      ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
      ...(Object.keys(configs).length > 0 ? { configs } : {}),
    },
    notes,
  };
}

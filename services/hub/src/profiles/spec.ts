/**
 * What a profile is: one validated shape, used by the config file, the admin API, the CLI and the database.
 * Everything a user's container gets from its profile passes through here first, so the rules that keep a
 * profile safe (a pinned image, named volumes only, no protocol variables in its environment) live here.
 */
import { z } from 'zod';

/** Profile names: short, lowercase, safe in URLs, forms and logs. */
export const PROFILE_NAME_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const HEX64 = '[a-f0-9]{64}';
/** A local image id, as `docker inspect` prints it. */
export const IMAGE_ID_RE = new RegExp(`^sha256:${HEX64}$`);
/** `repository@sha256:<digest>`; the repository may carry a registry host and port, but no tag. */
export const IMAGE_DIGEST_RE = new RegExp(
  `^(?<repo>[a-z0-9][a-z0-9._-]*(?::[0-9]+)?(?:/[a-z0-9][a-z0-9._-]*)*)@(?<digest>sha256:${HEX64})$`,
);

export type ImagePin =
  | { readonly kind: 'id'; readonly id: string }
  | { readonly kind: 'digest'; readonly repository: string; readonly digest: string };

/** Parses a pinned image reference; undefined for anything else (tags, `latest`, junk). */
export function parseImagePin(ref: string): ImagePin | undefined {
  if (IMAGE_ID_RE.test(ref)) return { kind: 'id', id: ref };
  const m = IMAGE_DIGEST_RE.exec(ref);
  if (!m?.groups || ref.includes('..')) return undefined;
  return { kind: 'digest', repository: m.groups.repo as string, digest: m.groups.digest as string };
}

const PIN_MESSAGE =
  'image must be pinned: repository@sha256:<digest> or a local image id sha256:<id> (tags such as latest can change under you)';

/** Variables of the single-user protocol (PROTOCOL.md) that a profile may never set or override. */
const RESERVED_ENV = /^(JUPYTERHUB_|JPY_|JUPYTER_IMAGE)/;
/** Where a data volume may not go: the system, the writable tmpfs, the home volume itself. */
const FORBIDDEN_MOUNT_ROOTS = [
  '/proc',
  '/sys',
  '/dev',
  '/etc',
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/boot',
  '/run',
  '/var/run',
  '/tmp',
];
const FORBIDDEN_MOUNTS = ['/', '/home', '/home/jovyan', '/var', '/opt'];

const mountPath = z
  .string()
  .regex(/^(\/[A-Za-z0-9._-]+)+$/, 'must be an absolute path without a trailing slash')
  .refine((p) => !p.split('/').some((seg) => seg === '.' || seg === '..'), 'may not contain . or ..')
  .refine(
    (p) =>
      !FORBIDDEN_MOUNTS.includes(p) && !FORBIDDEN_MOUNT_ROOTS.some((r) => p === r || p.startsWith(`${r}/`)),
    'may not be a system directory, /tmp or the home directory itself',
  );

/** Only named Docker volumes: a name has no slash, so it can never be a host path. */
const dataVolume = z.strictObject({
  volume: z
    .string()
    .regex(
      /^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,254}$/,
      'must be the name of a Docker volume (host paths are refused)',
    ),
  mount_path: mountPath,
});

/** `2G`, `512M`, `1.5GiB`, or a number of bytes. */
export function parseMemory(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v > 0 ? v : undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)$/i.exec(v.trim());
  if (!m) return undefined;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(m[2] ?? '').toLowerCase()] ?? 1;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

const MIN_MEMORY = 64 * 1024 ** 2;
/** A Swarm node label key or value: no spaces, commas or operators, so it cannot widen a constraint. */
const NODE_LABEL = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$/;

const memory = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const bytes = parseMemory(v);
  if (bytes === undefined || bytes < MIN_MEMORY) {
    ctx.addIssue({ code: 'custom', message: 'expected a size of at least 64M, e.g. 2G, 512M or bytes' });
    return z.NEVER;
  }
  return bytes;
});

const fields = {
  display_name: z.string().min(1).max(100),
  description: z.string().max(2000),
  image: z
    .string()
    .max(512)
    .refine((r) => parseImagePin(r) !== undefined, PIN_MESSAGE),
  /** CPUs, e.g. 1.5. */
  cpu: z.number().positive().max(1024).multipleOf(0.001),
  /** Bytes (sizes like `2G` are accepted on input). */
  memory,
  pids: z.number().int().min(64).max(1_000_000),
  gpus: z.number().int().min(0).max(64),
  data_volumes: z
    .array(dataVolume)
    .max(16)
    .refine((v) => new Set(v.map((d) => d.mount_path)).size === v.length, 'two volumes at one mount path'),
  environment: z
    .record(
      z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'not a valid variable name')
        .refine((k) => !RESERVED_ENV.test(k), 'JUPYTERHUB_*, JPY_* and JUPYTER_IMAGE* are set by the hub'),
      z
        .string()
        .max(4096)
        .refine((v) => !v.includes('\0'), 'may not contain NUL'),
    )
    .refine((e) => Object.keys(e).length <= 100, 'at most 100 variables'),
  default_url: z.string().regex(/^\/[A-Za-z0-9._~\-/]*$/, 'must be a path such as /lab'),
  internet: z.boolean(),
  groups: z.array(z.string().min(1).max(256)).max(100),
  /** Swarm only: labels a node must carry to run the profile's servers (placement constraints). */
  node_labels: z
    .record(
      z.string().regex(NODE_LABEL, 'a node label key: letters, digits, . _ -'),
      z.string().regex(NODE_LABEL, 'a node label value: letters, digits, . _ -'),
    )
    .refine((l) => Object.keys(l).length <= 20, 'at most 20 labels')
    .optional(),
  /** Swarm only: CPUs and bytes set aside on the node when placing a server (at most `cpu` and `memory`). */
  reserve_cpu: z.number().positive().max(1024).multipleOf(0.001).optional(),
  reserve_memory: z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const bytes = parseMemory(v);
      if (bytes === undefined) {
        ctx.addIssue({ code: 'custom', message: 'expected a size, e.g. 1G, 512M or bytes' });
        return z.NEVER;
      }
      return bytes;
    })
    .optional(),
};

/** A stored profile definition: every field present, normalized. */
export const profileSpecSchema = z.strictObject({
  ...fields,
  memory: z.number().int().min(MIN_MEMORY),
  reserve_memory: z.number().int().positive().optional(),
});
export type ProfileSpec = z.infer<typeof profileSpecSchema>;

/** What an admin writes (file, API, CLI): name and image required, the rest falls back to the defaults. */
export const profileInputSchema = z.strictObject({
  name: z.string().regex(PROFILE_NAME_RE, 'lowercase letters, digits, - and _, at most 63'),
  ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.optional()])),
  image: fields.image,
}) as z.ZodType<ProfileInput>;
export type ProfileInput = { readonly name: string; readonly image: string } & Partial<
  Omit<ProfileSpec, 'image'>
>;

/** An update: any field but the name. */
export const profilePatchSchema = z.strictObject(
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.optional()])),
) as z.ZodType<Partial<ProfileSpec>>;

/** Where fields an admin leaves out come from: the spawner's global settings. */
export interface ProfileDefaults {
  readonly cpu: number;
  readonly memory: number;
  readonly pids: number;
  readonly defaultUrl: string;
}

export function completeSpec(input: ProfileInput, d: ProfileDefaults): ProfileSpec {
  const { name, ...rest } = input;
  return normalize({
    display_name: name,
    description: '',
    cpu: d.cpu,
    memory: d.memory,
    pids: d.pids,
    gpus: 0,
    data_volumes: [],
    environment: {},
    default_url: d.defaultUrl,
    internet: false,
    groups: [],
    ...rest,
  });
}

/** Sorted groups, sorted environment keys, no empty node labels, so that equal definitions compare equal. */
export function normalize(spec: ProfileSpec): ProfileSpec {
  // No node labels is the same as an empty map (a spec stored before they existed has none).
  const { node_labels, ...rest } = spec;
  const labels = node_labels && Object.keys(node_labels).length > 0 ? { node_labels } : {};
  return profileSpecSchema.parse({
    ...rest,
    ...labels,
    groups: [...new Set(spec.groups)].sort(),
    environment: Object.fromEntries(Object.entries(spec.environment).sort(([a], [b]) => (a < b ? -1 : 1))),
  });
}

export function sameSpec(a: ProfileSpec, b: ProfileSpec): boolean {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

/** zod issues as one line naming each field, e.g. `image: image must be pinned…`. */
export function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => {
      const path = i.path.join('.');
      if (i.code === 'unrecognized_keys') return `unknown field(s): ${i.keys.join(', ')}`;
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join('; ');
}

/**
 * Custom roles and services from BERTH_RBAC_FILE (JSON or YAML; config/rbac.example.yaml), as JupyterHub's
 * `load_roles` and `services`: a role is a name, scopes, and the users, groups and services it is given to.
 * A service authenticates with the token in its `apiTokenFile` and holds only the scopes of its roles.
 */
import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { USERNAME_RE } from '../config/schema.ts';
import { GROUP_NAME_RE } from '../db/groups-repo.ts';
import { parseScope, ROLE_SCOPES, SCOPE_NAMES } from './scopes.ts';

export class RbacFileError extends Error {
  override readonly name = 'RbacFileError';
}

export const SERVICE_NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
/** JupyterHub's role name rule (roles.py). */
const ROLE_NAME_RE = /^[a-z][a-z0-9\-_~.]{1,253}[a-z0-9]$/;

const scope = z.string().refine((s) => {
  const p = parseScope(s);
  return p !== undefined && (SCOPE_NAMES.has(p.name) || p.name.startsWith('custom:'));
}, 'not a known scope (JupyterHub scope names, optionally with !user=, !server= or !group=)');

const roleSchema = z.strictObject({
  name: z
    .string()
    .regex(
      ROLE_NAME_RE,
      'role names: 3-255 of a-z, 0-9, "-", "_", "~" and ".", starting with a letter, ending with a letter or digit',
    )
    .refine((n) => !(n in ROLE_SCOPES), 'a default role (user, admin, server, token) cannot be redefined'),
  description: z.string().max(1000).optional(),
  scopes: z.array(scope).max(200),
  users: z.array(z.string().regex(USERNAME_RE)).default([]),
  groups: z.array(z.string().regex(GROUP_NAME_RE)).default([]),
  services: z.array(z.string().regex(SERVICE_NAME_RE)).default([]),
});

const serviceSchema = z.strictObject({
  name: z.string().regex(SERVICE_NAME_RE, 'service names: 1-64 of a-z, 0-9, ".", "_" and "-"'),
  /** File holding the service's API token (at least 32 characters); the service sends it as `Authorization: token …`. */
  apiTokenFile: z.string().min(1).optional(),
  url: z.url({ protocol: /^https?$/ }).optional(),
  display: z.boolean().default(true),
  info: z.record(z.string(), z.string()).default({}),
});

const fileSchema = z
  .strictObject({ roles: z.array(roleSchema).default([]), services: z.array(serviceSchema).default([]) })
  .superRefine((f, ctx) => {
    const dup = (xs: string[]) => xs.find((n, i) => xs.indexOf(n) !== i);
    const r = dup(f.roles.map((x) => x.name));
    if (r) ctx.addIssue({ code: 'custom', path: ['roles'], message: `role ${r} is defined twice` });
    const s = dup(f.services.map((x) => x.name));
    if (s) ctx.addIssue({ code: 'custom', path: ['services'], message: `service ${s} is defined twice` });
    const known = new Set(f.services.map((x) => x.name));
    for (const role of f.roles) {
      for (const name of role.services) {
        if (!known.has(name)) {
          ctx.addIssue({ code: 'custom', path: ['roles', role.name], message: `no service named ${name}` });
        }
      }
    }
  });

export type RoleDef = z.infer<typeof roleSchema>;
export type ServiceDef = z.infer<typeof serviceSchema>;
export interface RbacSource {
  readonly roles: readonly RoleDef[];
  readonly services: readonly ServiceDef[];
}

export function parseRbacFile(text: string, what: string): RbacSource {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 0 });
  } catch (err) {
    throw new RbacFileError(`${what}: not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = fileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new RbacFileError(`${what}: ${i?.path.join('.') ?? ''}: ${i?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export function readRbacFile(path: string | undefined): RbacSource {
  if (!path) return { roles: [], services: [] };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RbacFileError(`BERTH_RBAC_FILE: cannot read ${path}: ${(err as NodeJS.ErrnoException).code}`);
  }
  return parseRbacFile(text, `BERTH_RBAC_FILE ${path}`);
}

/** Read a service's token file; refuses short tokens and (when enforced) files readable by group or others. */
export function readServiceToken(service: ServiceDef, enforceFileModes: boolean): string | undefined {
  const path = service.apiTokenFile;
  if (!path) return undefined;
  let token: string;
  try {
    if (enforceFileModes && (statSync(path).mode & 0o077) !== 0) {
      throw new RbacFileError(`service ${service.name}: ${path} is readable by group or others (chmod 600)`);
    }
    token = readFileSync(path, 'utf8').trim();
  } catch (err) {
    if (err instanceof RbacFileError) throw err;
    throw new RbacFileError(
      `service ${service.name}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code}`,
    );
  }
  if (token.length < 32)
    throw new RbacFileError(`service ${service.name}: the token in ${path} is shorter than 32 characters`);
  return token;
}

/** Every service's token, by service name (services without a token file can only be listed). */
export function readServiceTokens(
  services: readonly ServiceDef[],
  enforceFileModes: boolean,
): Map<string, string> {
  const out = new Map<string, string>();
  const seen = new Set<string>();
  for (const s of services) {
    const t = readServiceToken(s, enforceFileModes);
    if (t === undefined) continue;
    if (seen.has(t)) throw new RbacFileError(`service ${s.name}: its token is another service's too`);
    seen.add(t);
    out.set(s.name, t);
  }
  return out;
}

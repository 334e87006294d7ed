/**
 * JSON schemas of what the REST API answers, for the OpenAPI document (docs/openapi.json). Responses are
 * serialized with JSON.stringify (openapi.ts), so these describe and never filter. Objects stay open
 * (JupyterHub adds fields over versions; so may Berth).
 */
import { z } from 'zod';
import { USERNAME_RE } from '../config/schema.ts';
import { IMAGE_DIGEST_RE, IMAGE_ID_RE, profileInputSchema, profilePatchSchema } from '../profiles/spec.ts';

const str = { type: 'string' } as const;
const nullableStr = { type: 'string', nullable: true } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const nullableDate = { type: 'string', format: 'date-time', nullable: true } as const;
const strings = { type: 'array', items: str } as const;

export const errorModel = {
  type: 'object',
  description: "JupyterHub's error body, plus Berth's stable error code",
  required: ['status', 'message'],
  properties: { status: { type: 'integer' }, message: str, code: str },
} as const;

export const serverModel = {
  type: 'object',
  required: ['name', 'ready'],
  properties: {
    name: str,
    ready: { type: 'boolean' },
    pending: { type: 'string', nullable: true, enum: ['spawn', 'stop', null] },
    stopped: { type: 'boolean' },
    url: str,
    progress_url: str,
    started: nullableDate,
    last_activity: nullableDate,
    state: { type: 'object', nullable: true },
    user_options: { type: 'object' },
  },
} as const;

export const userModel = {
  type: 'object',
  description:
    "A user, with the fields the caller's scopes reveal (JupyterHub's access map): list:users alone shows kind, name and admin; servers need read:servers",
  required: ['kind', 'name'],
  properties: {
    kind: { type: 'string', enum: ['user'] },
    name: str,
    admin: { type: 'boolean' },
    blocked: {
      type: 'boolean',
      description: 'Berth extension: blocked by an admin or BERTH_BLOCKED_USERS (no login, session or token)',
    },
    roles: strings,
    groups: strings,
    server: nullableStr,
    pending: nullableStr,
    created: nullableDate,
    last_activity: nullableDate,
    servers: { type: 'object', additionalProperties: serverModel },
  },
} as const;

export const identityModel = {
  type: 'object',
  description: 'The caller: a user model (or a service model for a service token) with its expanded scopes',
  required: ['kind', 'name', 'scopes'],
  properties: {
    kind: { type: 'string', enum: ['user', 'service'] },
    name: str,
    scopes: strings,
    session_id: nullableStr,
    token_id: nullableStr,
  },
} as const;

export const groupModel = {
  type: 'object',
  required: ['kind', 'name'],
  properties: {
    kind: { type: 'string', enum: ['group'] },
    name: str,
    users: strings,
    properties: { type: 'object' },
    roles: strings,
  },
} as const;

export const serviceModel = {
  type: 'object',
  required: ['kind', 'name'],
  properties: {
    kind: { type: 'string', enum: ['service'] },
    name: str,
    admin: { type: 'boolean' },
    roles: strings,
    url: str,
    prefix: str,
    command: strings,
    pid: { type: 'integer' },
    info: { type: 'object' },
    display: { type: 'boolean' },
  },
} as const;

export const tokenModel = {
  type: 'object',
  required: ['id', 'kind'],
  properties: {
    id: str,
    kind: str,
    user: str,
    roles: strings,
    scopes: strings,
    note: nullableStr,
    created: dateTime,
    expires_at: nullableDate,
    last_activity: nullableDate,
    session_id: nullableStr,
    oauth_client: nullableStr,
  },
} as const;

export const newTokenModel = {
  ...tokenModel,
  required: ['id', 'token'],
  properties: { ...tokenModel.properties, token: { type: 'string', description: 'shown once, never again' } },
} as const;

export const paginated = (items: object) =>
  ({
    type: 'object',
    required: ['items', '_pagination'],
    properties: {
      items,
      _pagination: {
        type: 'object',
        properties: {
          offset: { type: 'integer' },
          limit: { type: 'integer' },
          total: { type: 'integer' },
          next: { type: 'object', nullable: true },
        },
      },
    },
  }) as const;

/** Path parameters. Patterns are for documentation and a first check; handlers check names again. */
export const params = {
  name: { type: 'string', pattern: USERNAME_RE.source, description: 'user name' },
  group: { type: 'string', minLength: 1, maxLength: 255, description: 'group name (URL-encoded)' },
  service: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$', description: 'service name' },
  server: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,62}$', description: 'named server' },
  token: { type: 'string', pattern: '^a[1-9][0-9]{0,9}$', description: 'token id, as listed' },
} as const;

export const pageQuery = {
  offset: { type: 'string', pattern: '^[0-9]{1,9}$', description: 'integer ≥ 0' },
  limit: { type: 'string', pattern: '^[0-9]{1,9}$', description: 'integer ≥ 1; above 200 means 200' },
} as const;

/** The request body of an image profile, from the one schema that validates it (profiles/spec.ts). */
const profileBody = (schema: z.ZodType, description: string) => {
  const s = z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0', unrepresentable: 'any' }) as {
    properties?: Record<string, object>;
  } & Record<string, unknown>;
  delete s.$schema;
  const properties = { ...(s.properties ?? {}) };
  if (properties.image) {
    properties.image = {
      ...properties.image,
      // Without named groups: the document's patterns are read by other regex engines (schemathesis: Python).
      pattern: `^(${IMAGE_ID_RE.source.slice(1, -1)}|${IMAGE_DIGEST_RE.source.slice(1, -1)})$`.replace(
        /\(\?<\w+>/g,
        '(',
      ),
      description: 'pinned: repository@sha256:<digest>, or a local image id sha256:<id>; tags are refused',
    };
  }
  if (properties.memory) {
    properties.memory = {
      ...properties.memory,
      description: 'bytes, or a size such as 2G or 512M (at least 64M)',
    };
  }
  return { ...s, properties, description };
};

export const profileCreateBody = profileBody(
  profileInputSchema,
  'A new profile: name and image, and any other field (the rest falls back to the defaults). Unknown fields are 400.',
);
export const profilePatchBody = profileBody(
  profilePatchSchema,
  'The fields to change; the name cannot change. An edit that changes nothing makes no new version.',
);

const imageProbe = {
  type: 'object',
  nullable: true,
  description: 'The last check of the image: does it run a compatible jupyterhub-singleuser?',
  properties: {
    status: { type: 'string', enum: ['pending', 'compatible', 'incompatible', 'failed'] },
    jupyterhub_version: nullableStr,
    image_id: nullableStr,
    detail: nullableStr,
    probed_at: dateTime,
  },
} as const;

export const profileModel = {
  type: 'object',
  description:
    'One version of an image profile. environment, groups, source and author are shown to admins (admin:profiles) only.',
  required: ['name', 'version', 'image', 'retired', 'default', 'created'],
  properties: {
    name: str,
    version: { type: 'integer', minimum: 1 },
    display_name: str,
    description: str,
    image: str,
    cpu: { type: 'number', description: 'CPUs' },
    memory: { type: 'integer', description: 'bytes' },
    pids: { type: 'integer' },
    gpus: { type: 'integer' },
    data_volumes: {
      type: 'array',
      items: { type: 'object', properties: { volume: str, mount_path: str } },
    },
    default_url: str,
    internet: { type: 'boolean', description: 'whether servers of this profile reach the internet' },
    retired: { type: 'boolean' },
    default: { type: 'boolean', description: 'the profile started when none is named' },
    created: dateTime,
    image_probe: imageProbe,
    environment: { type: 'object', additionalProperties: str },
    groups: { ...strings, description: 'groups allowed to use it; empty: everyone' },
    source: { type: 'string', enum: ['config', 'api', 'cli'] },
    author: nullableStr,
  },
} as const;

export const auditEntryModel = {
  type: 'object',
  required: ['id', 'at', 'action', 'outcome', 'actor', 'actor_kind'],
  properties: {
    id: { type: 'integer' },
    at: dateTime,
    action: { ...str, description: 'login, logout, server.access, or <resource>.<verb> (token.create, …)' },
    outcome: { type: 'string', enum: ['success', 'failure', 'denied'] },
    actor: {
      ...nullableStr,
      description: 'the user’s name, or service:<name>; null when unknown (a failed login)',
    },
    actor_kind: { type: 'string', nullable: true, enum: ['user', 'service', null] },
    target_user: { ...nullableStr, description: 'the user acted on' },
    target: {
      ...nullableStr,
      description: 'the object acted on: "server alice/", "group physics", "token a12"',
    },
    ip: nullableStr,
    detail: { type: 'object', description: 'method, route, status and the body, with secrets redacted' },
  },
} as const;

export const usageModel = {
  type: 'object',
  required: ['from', 'to', 'by', 'rows'],
  properties: {
    from: dateTime,
    to: dateTime,
    by: { type: 'string', enum: ['user', 'group', 'profile'] },
    rows: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          key: { ...str, description: 'the user, group or profile; (none) for servers without one' },
          server_hours: { type: 'number' },
          servers: { type: 'integer', description: 'server records counted' },
        },
      },
    },
  },
} as const;

export const invitationModel = {
  type: 'object',
  required: ['username', 'admin', 'url', 'expires_at'],
  properties: {
    username: str,
    admin: { type: 'boolean' },
    url: { ...str, description: 'the single-use link; shown only in this answer' },
    expires_at: dateTime,
  },
} as const;

export const announcementModel = {
  type: 'object',
  properties: {
    message: { ...str, description: '"" when no announcement is set' },
    updated: nullableDate,
  },
} as const;

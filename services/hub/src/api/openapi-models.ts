/**
 * JSON schemas of what the REST API answers, for the OpenAPI document (docs/openapi.json). Responses are
 * serialized with JSON.stringify (openapi.ts), so these describe and never filter. Objects stay open
 * (JupyterHub adds fields over versions; so may Berth).
 */
import { USERNAME_RE } from '../config/schema.ts';

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
  description: 'A user; with list:users but not read:users, only kind and name',
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

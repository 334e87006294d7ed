/**
 * The documentation of each REST route, by `METHOD path` (fastify's path syntax), merged into the route's
 * schema when it is registered (openapi.ts). One table so that docs/openapi.json covers every route and a test
 * can check that none is missing. `scopes` is what the route needs, as JupyterHub's `needs_scope`.
 */
import { PROFILE_NAME_RE } from '../profiles/spec.ts';
import {
  announcementModel,
  auditEntryModel,
  errorModel,
  groupModel,
  identityModel,
  invitationModel,
  newTokenModel,
  pageQuery,
  paginated,
  params,
  profileCreateBody,
  profileModel,
  profilePatchBody,
  serverModel,
  serviceModel,
  tokenModel,
  usageModel,
  userModel,
} from './openapi-models.ts';

export interface RouteDoc {
  readonly summary: string;
  readonly tags: readonly string[];
  /** Scopes, any of which lets the caller in; empty: anyone (no authentication). */
  readonly scopes: readonly string[];
  readonly params?: Record<string, object>;
  readonly querystring?: Record<string, object>;
  /** Status → JSON schema (or a `content` object for other media types). */
  readonly responses: Record<number, object>;
  readonly description?: string;
  /**
   * The request body, for the document only: for routes that check their body themselves (profiles: one zod
   * schema in profiles/spec.ts), so the document shows it without fastify validating it a second time.
   */
  readonly body?: object;
}

const json = (description: string, schema: object = { type: 'object' }) => ({ description, ...schema });
const none = (description: string) => ({ description, type: 'null' });
const userParams = { name: params.name };
const serverParams = { name: params.name, server: params.server };
const listOf = (s: object) => ({ type: 'array', items: s });
/** JupyterHub ≥ 3: stopped servers in the user model's `servers` too (any value but `0`/`false`, or none). */
const stoppedQuery = {
  include_stopped_servers: {
    type: 'string',
    description: 'present (any value but 0 or false): list stopped servers in `servers` too',
  },
};
const volumesQuery = {
  volumes: {
    type: 'string',
    description:
      'with {"remove": true}: archive, delete or keep its home volume (BERTH_VOLUME_ON_USER_DELETE by default)',
  },
};
const usersQuery = {
  ...pageQuery,
  ...stoppedQuery,
  state: { type: 'string', enum: ['active', 'inactive', 'ready'] },
  name_filter: { type: 'string', maxLength: 300 },
  sort: { type: 'string', enum: ['id', 'name', 'last_activity', '-id', '-name', '-last_activity'] },
};
const profileParams = {
  name: { type: 'string', pattern: PROFILE_NAME_RE.source, description: 'profile name' },
};
const profileErrors = {
  404: json('no such profile (or, for a user, one they may not use)', errorModel),
};
const profileWrite = {
  400: json(
    'invalid field (named in the message), an unpinned image, or an image the engine lacks',
    errorModel,
  ),
  503: json('the container engine could not be asked about the image', errorModel),
};
const sse = (description: string) => ({
  description,
  content: { 'text/event-stream': { schema: { type: 'string' } } },
});

export const ROUTE_DOCS: Readonly<Record<string, RouteDoc>> = {
  'GET /hub/api': {
    summary: 'The JupyterHub version this hub speaks',
    tags: ['hub'],
    scopes: [],
    responses: { 200: json('version', { type: 'object', properties: { version: { type: 'string' } } }) },
  },
  'GET /hub/api/': {
    summary: 'The JupyterHub version this hub speaks (trailing slash)',
    tags: ['hub'],
    scopes: [],
    responses: { 200: json('version', { type: 'object', properties: { version: { type: 'string' } } }) },
  },
  'GET /hub/health': {
    summary: 'Liveness: the hub answers and reaches its database',
    tags: ['hub'],
    scopes: [],
    responses: { 200: json('healthy'), 503: json('database unavailable', errorModel) },
  },
  'GET /hub/api/announcement': {
    summary: 'The announcement banner (public, like the pages that show it)',
    tags: ['hub'],
    scopes: [],
    responses: {
      200: json('the banner', {
        type: 'object',
        properties: { message: { type: 'string' }, updated: { type: 'string', nullable: true } },
      }),
    },
  },
  'GET /hub/api/info': {
    summary: 'Details about the hub: versions, spawner, authenticators',
    tags: ['hub'],
    scopes: ['read:hub'],
    responses: { 200: json('hub info') },
  },
  'POST /hub/api/shutdown': {
    summary: 'Stop the hub cleanly; user servers and the proxy keep running',
    description: '`servers: true` or `proxy: true` are refused: Berth never stops either with the hub.',
    tags: ['hub'],
    scopes: ['shutdown'],
    responses: {
      202: json('shutting down', { type: 'object', properties: { message: { type: 'string' } } }),
    },
  },
  'GET /hub/metrics': {
    summary: "Prometheus metrics of the hub (JupyterHub's metric names)",
    tags: ['hub'],
    scopes: ['read:metrics'],
    responses: {
      200: {
        description: 'Prometheus text format',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
    },
  },
  'GET /hub/api/user': {
    summary: 'Who is calling: the user (or service) behind the token, with its scopes',
    tags: ['users'],
    scopes: ['(any token)'],
    querystring: stoppedQuery,
    responses: { 200: json('the caller', identityModel) },
  },
  'GET /hub/api/users': {
    summary: 'List users (paginated with Accept: application/jupyterhub-pagination+json)',
    tags: ['users'],
    scopes: ['list:users'],
    querystring: usersQuery,
    responses: {
      200: json('users (or a page of them)', { oneOf: [listOf(userModel), paginated(listOf(userModel))] }),
    },
  },
  'POST /hub/api/users': {
    summary: 'Create several users',
    tags: ['users'],
    scopes: ['admin:users'],
    responses: {
      201: json('the users created', listOf(userModel)),
      409: json('all already exist', errorModel),
    },
  },
  'GET /hub/api/users/:name': {
    summary: 'One user, with the fields the caller’s scopes reveal',
    description:
      "As JupyterHub's access map: `read:users` all but `servers`; `read:users:name` kind, name, admin; `read:users:groups` groups; `read:users:activity` last_activity; `read:servers` the servers it may read; `read:roles:users` roles and admin; `admin:auth_state` also auth_state.",
    tags: ['users'],
    scopes: [
      'read:users',
      'read:users:name',
      'read:servers',
      'read:users:groups',
      'read:users:activity',
      'read:roles:users',
    ],
    params: userParams,
    querystring: stoppedQuery,
    responses: { 200: json('the user', userModel) },
  },
  'POST /hub/api/users/:name': {
    summary: 'Create one user',
    tags: ['users'],
    scopes: ['admin:users'],
    params: userParams,
    responses: { 201: json('the user', userModel), 409: json('exists already', errorModel) },
  },
  'PATCH /hub/api/users/:name': {
    summary:
      'Change a user: admin flag, and blocked (Berth extension); only an admin with unfiltered admin:users can grant admin or block',
    tags: ['users'],
    scopes: ['admin:users'],
    params: userParams,
    responses: {
      200: json('the user', userModel),
      400: json('bad body, renaming, or blocking yourself', errorModel),
      403: json('not an admin with unfiltered admin:users (admin or blocked)', errorModel),
      409: json('unblocking a user BERTH_BLOCKED_USERS names', errorModel),
    },
  },
  'DELETE /hub/api/users/:name': {
    summary: 'Delete a user (their servers are stopped first)',
    tags: ['users'],
    scopes: ['delete:users'],
    params: userParams,
    responses: { 204: none('deleted'), 503: json('home volumes could not be handled', errorModel) },
  },
  'POST /hub/api/users/:name/activity': {
    summary: 'Report activity (single-user servers do)',
    tags: ['users'],
    scopes: ['users:activity'],
    params: userParams,
    responses: { 200: json('recorded') },
  },
  'POST /hub/api/users/:name/server': {
    summary: "Start the user's default server",
    tags: ['servers'],
    scopes: ['start:servers', 'servers'],
    params: userParams,
    responses: {
      201: json('started', serverModel),
      202: none('starting; follow the progress URL'),
      409: json('already running', errorModel),
      429: json('too many spawns; Retry-After says when to try again', errorModel),
      500: json('the spawn failed (named in the message)', errorModel),
    },
  },
  'DELETE /hub/api/users/:name/server': {
    summary: "Stop the user's default server",
    description:
      'The server keeps its record (listed with ?include_stopped_servers). The default server cannot be removed: a body of {"remove": true} is a 400.',
    tags: ['servers'],
    scopes: ['delete:servers', 'servers'],
    params: userParams,
    responses: {
      204: none('stopped (or was not running)'),
      400: json('{"remove": true}: the default server cannot be removed', errorModel),
    },
  },
  'POST /hub/api/users/:name/servers/:server': {
    summary: 'Start a named server',
    tags: ['servers'],
    scopes: ['start:servers', 'servers'],
    params: serverParams,
    responses: {
      201: json('started', serverModel),
      202: none('starting; follow the progress URL'),
      409: json('already running', errorModel),
      429: json('too many spawns; Retry-After says when to try again', errorModel),
      500: json('the spawn failed (named in the message)', errorModel),
    },
  },
  'DELETE /hub/api/users/:name/servers/:server': {
    summary: 'Stop a named server; with {"remove": true}, remove it',
    description:
      'Stopped, the server keeps its record (name, profile, last activity): it is listed with ?include_stopped_servers and can be started again. A JSON body {"remove": true} also removes it for good (stopping it first), and archives, deletes or keeps its home volume as ?volumes= says.',
    tags: ['servers'],
    scopes: ['delete:servers', 'servers'],
    params: serverParams,
    querystring: volumesQuery,
    responses: {
      204: none('stopped (or was not running); with remove, removed'),
      400: json('a bad body, or ?volumes= without remove', errorModel),
      404: json('no server of that name', errorModel),
      409: json('started again while being removed', errorModel),
      503: json('removed, but its home volume could not be handled (it was kept)', errorModel),
    },
  },
  'GET /hub/api/users/:name/server/progress': {
    summary: 'Progress of a starting default server (server-sent events)',
    tags: ['servers'],
    scopes: ['read:servers'],
    params: userParams,
    responses: { 200: sse('progress events') },
  },
  'GET /hub/api/users/:name/servers/:server/progress': {
    summary: 'Progress of a starting named server (server-sent events)',
    tags: ['servers'],
    scopes: ['read:servers'],
    params: serverParams,
    responses: { 200: sse('progress events') },
  },
  'GET /hub/api/users/:name/tokens': {
    summary: "List a user's tokens (never the token itself)",
    tags: ['tokens'],
    scopes: ['read:tokens'],
    params: userParams,
    responses: {
      200: json('tokens', {
        type: 'object',
        properties: { api_tokens: listOf(tokenModel), oauth_tokens: listOf(tokenModel) },
      }),
    },
  },
  'POST /hub/api/users/:name/tokens': {
    summary: 'Create a token (scopes never beyond the owner’s)',
    tags: ['tokens'],
    scopes: ['tokens'],
    params: userParams,
    responses: { 201: json('the new token, shown once', newTokenModel) },
  },
  'GET /hub/api/users/:name/tokens/:id': {
    summary: 'One token',
    tags: ['tokens'],
    scopes: ['read:tokens'],
    params: { name: params.name, id: { type: 'string', description: 'token id, as listed (a123)' } },
    responses: { 200: json('the token', tokenModel) },
  },
  'DELETE /hub/api/users/:name/tokens/:id': {
    summary: 'Revoke a token',
    tags: ['tokens'],
    scopes: ['tokens'],
    params: { name: params.name, id: { type: 'string', description: 'token id, as listed (a123)' } },
    responses: { 204: none('revoked') },
  },
  'GET /hub/api/groups': {
    summary: 'List groups (paginated with Accept: application/jupyterhub-pagination+json)',
    tags: ['groups'],
    scopes: ['list:groups'],
    querystring: pageQuery,
    responses: { 200: json('groups', { oneOf: [listOf(groupModel), paginated(listOf(groupModel))] }) },
  },
  'POST /hub/api/groups': {
    summary: 'Create several groups, optionally with members',
    tags: ['groups'],
    scopes: ['admin:groups'],
    responses: {
      201: json('the groups', listOf(groupModel)),
      409: json('a group exists already', errorModel),
    },
  },
  'GET /hub/api/groups/:name': {
    summary: 'One group',
    tags: ['groups'],
    scopes: ['read:groups', 'read:groups:name', 'read:roles:groups'],
    params: { name: params.group },
    responses: { 200: json('the group', groupModel) },
  },
  'POST /hub/api/groups/:name': {
    summary: 'Create one group, optionally with members',
    tags: ['groups'],
    scopes: ['admin:groups'],
    params: { name: params.group },
    responses: { 201: json('the group', groupModel), 409: json('exists already', errorModel) },
  },
  'DELETE /hub/api/groups/:name': {
    summary: 'Delete a group (members lose it)',
    tags: ['groups'],
    scopes: ['delete:groups'],
    params: { name: params.group },
    responses: { 204: none('deleted') },
  },
  'POST /hub/api/groups/:name/users': {
    summary: 'Add members',
    tags: ['groups'],
    scopes: ['groups'],
    params: { name: params.group },
    responses: { 200: json('the group', groupModel) },
  },
  'DELETE /hub/api/groups/:name/users': {
    summary: 'Remove members',
    tags: ['groups'],
    scopes: ['groups'],
    params: { name: params.group },
    responses: { 200: json('the group', groupModel) },
  },
  'PUT /hub/api/groups/:name/properties': {
    summary: "Replace a group's properties",
    tags: ['groups'],
    scopes: ['groups'],
    params: { name: params.group },
    responses: { 200: json('the group', groupModel) },
  },
  'GET /hub/api/services': {
    summary: 'List services (an object by name, as JupyterHub)',
    tags: ['services'],
    scopes: ['list:services'],
    responses: { 200: json('services', { type: 'object', additionalProperties: serviceModel }) },
  },
  'GET /hub/api/services/:name': {
    summary: 'One service',
    tags: ['services'],
    scopes: ['read:services', 'read:services:name', 'read:roles:services'],
    params: { name: params.service },
    responses: { 200: json('the service', serviceModel) },
  },
  'GET /hub/api/proxy': {
    summary: "The proxy's routing table (the hub's routes), paginated",
    tags: ['proxy'],
    scopes: ['proxy'],
    querystring: pageQuery,
    responses: { 200: json('routes by routespec'), 503: json('the proxy cannot be reached', errorModel) },
  },
  'POST /hub/api/proxy': {
    summary: 'Sync the proxy with the database now',
    tags: ['proxy'],
    scopes: ['proxy'],
    responses: { 200: none('synced'), 503: json('the proxy could not be synced', errorModel) },
  },
  'PATCH /hub/api/proxy': {
    summary:
      'Notify the hub of a new proxy: syncs; a new API location or token is refused (configuration only)',
    tags: ['proxy'],
    scopes: ['proxy'],
    responses: { 200: none('synced'), 503: json('the proxy could not be synced', errorModel) },
  },
  'PUT /hub/api/announcement': {
    summary: 'Set the announcement banner of the sign-in and home pages ("" removes it)',
    description:
      'Body `{"message": "…"}`, at most 500 characters; white space is collapsed to one line. Needs unfiltered `admin:users`.',
    tags: ['hub'],
    scopes: ['admin:users'],
    responses: {
      200: json('the banner as stored', {
        type: 'object',
        required: ['message'],
        properties: { message: announcementModel.properties.message },
      }),
    },
  },
  'GET /hub/api/profiles': {
    summary: 'Image profiles the caller may start (Berth extension)',
    description:
      'The newest version of each profile. A user (`read:profiles` on themselves) sees the profiles their groups allow, never retired ones nor their environment, groups, source or author; an admin (`admin:profiles`) sees them all, and with `include_retired=1` the retired ones too.',
    tags: ['profiles'],
    scopes: ['read:profiles', 'admin:profiles'],
    querystring: {
      include_retired: { type: 'string', description: 'admins: 1 lists retired profiles too' },
    },
    responses: { 200: json('profiles, by name', listOf(profileModel)) },
  },
  'POST /hub/api/profiles': {
    summary: 'Add an image profile (version 1)',
    description:
      'The image must be pinned (`repo@sha256:…` or `sha256:<id>`) and, where the hub has an engine, on it; data volumes are named Docker volumes, never host paths. Its image is probed in the background (`image_probe`).',
    tags: ['profiles'],
    scopes: ['admin:profiles'],
    body: profileCreateBody,
    responses: {
      201: json('the new profile', profileModel),
      ...profileWrite,
      409: json('a profile of that name exists', errorModel),
    },
  },
  'GET /hub/api/profiles/:name': {
    summary: 'One image profile (its newest version)',
    description: 'A profile a user may not start, or a retired one, is 404 for them.',
    tags: ['profiles'],
    scopes: ['read:profiles', 'admin:profiles'],
    params: profileParams,
    responses: { 200: json('the profile', profileModel), ...profileErrors },
  },
  'PATCH /hub/api/profiles/:name': {
    summary: 'Change an image profile: a new version with the fields given over the newest',
    description:
      'Running servers keep the version they started with. `If-Match: <version>` answers 409 instead of overwriting a newer version. A retired profile stays retired.',
    tags: ['profiles'],
    scopes: ['admin:profiles'],
    params: profileParams,
    body: profilePatchBody,
    responses: {
      200: json('the newest version', profileModel),
      ...profileWrite,
      ...profileErrors,
      409: json('If-Match names an older version, or another change came first', errorModel),
    },
  },
  'DELETE /hub/api/profiles/:name': {
    summary: 'Retire an image profile (a new version with retired: true; profiles are never deleted)',
    description: 'Users can no longer start it; running servers keep it. `POST …/restore` brings it back.',
    tags: ['profiles'],
    scopes: ['admin:profiles'],
    params: profileParams,
    responses: { 200: json('the retired version', profileModel), ...profileErrors },
  },
  'GET /hub/api/profiles/:name/versions': {
    summary: 'Every version of an image profile, oldest first',
    tags: ['profiles'],
    scopes: ['admin:profiles'],
    params: profileParams,
    responses: { 200: json('the versions', listOf(profileModel)), ...profileErrors },
  },
  'GET /hub/api/profiles/:name/versions/:version': {
    summary: 'One version of an image profile',
    tags: ['profiles'],
    scopes: ['admin:profiles'],
    params: {
      ...profileParams,
      version: { type: 'string', pattern: '^[1-9][0-9]{0,8}$', description: 'version number, from 1' },
    },
    responses: {
      200: json('that version', profileModel),
      404: json('no such profile or version', errorModel),
    },
  },
  'POST /hub/api/profiles/:name/restore': {
    summary: 'Un-retire an image profile (a new version)',
    tags: ['profiles'],
    scopes: ['admin:profiles'],
    params: profileParams,
    responses: { 200: json('the restored version', profileModel), ...profileErrors },
  },
  'POST /hub/api/profiles/:name/probe': {
    summary: "Check the profile's image again in the background",
    description: 'The result shows in the profile’s `image_probe` when done.',
    tags: ['profiles'],
    scopes: ['admin:profiles'],
    params: profileParams,
    responses: { 202: none('probing'), ...profileErrors },
  },
  'GET /hub/api/audit': {
    summary: 'The audit log, newest first (Berth extension)',
    description:
      'Logins, logouts, access to other users’ servers and every state-changing API call, by users and services (`actor_kind`). Paginated like `GET /users`. Filters: `action` (exact, or a prefix ending in `.`), `actor` (a user, or `service:<name>`), `user` (acted on), `outcome`, `since`, `until` (ISO 8601, until excluded).',
    tags: ['audit'],
    scopes: ['read:audit'],
    responses: {
      200: json('entries (or a page of them)', {
        oneOf: [listOf(auditEntryModel), paginated(listOf(auditEntryModel))],
      }),
    },
  },
  'GET /hub/api/usage': {
    summary: 'Server-hours per user, group or profile over a period, as JSON or CSV (Berth extension)',
    description:
      'Over `[from, to)` (ISO 8601; default the last 30 days), `by=user` (default), `group` or `profile`. Servers still running count up to now; a user in two groups counts fully for both. CSV with `Accept: text/csv` or `format=csv`; spreadsheet formulas in cells are defused.',
    tags: ['audit'],
    scopes: ['read:usage'],
    responses: {
      200: {
        description: 'the report',
        content: {
          'application/json': { schema: usageModel },
          'text/csv': { schema: { type: 'string', description: '<by>,server_hours,servers,from,to' } },
        },
      },
    },
  },
  'POST /hub/api/invitations': {
    summary: 'Invite a person: a single-use link that sets the password of a new local account',
    description:
      'Body `{username, admin?, expires_in?}` (seconds, default 7 days, at most 30). The link is in this answer only; the hub keeps its hash. Needs the local authenticator. `admin: true` only for an admin acting with unfiltered `admin:users`.',
    tags: ['users'],
    scopes: ['admin:users'],
    responses: {
      201: json('the invitation', invitationModel),
      400: json('invalid name, or local accounts are not enabled', errorModel),
      409: json('the user exists', errorModel),
    },
  },
};

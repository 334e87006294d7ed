import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface UsersTable {
  id: Generated<number>;
  name: string;
  admin: ColumnType<boolean, boolean | undefined, boolean>;
  password_hash: string | null;
  created: Timestamp;
  last_activity: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** Group names from the user's last login (or set by an admin for local accounts). */
  groups: ColumnType<string[], string | undefined, string>;
  /** The authenticator of the last login: `local`, `ldap`, `oidc:<id>`. */
  authenticator: ColumnType<string | null, string | null | undefined, string | null>;
  /** Encrypted auth state (auth/state-crypto.ts); never stored in the clear. */
  auth_state: ColumnType<string | null, string | null | undefined, string | null>;
  /** The admin flag was set by admin_users/admin_groups, so the configuration may also take it away. */
  admin_by_config: ColumnType<boolean, boolean | undefined, boolean>;
  /** Blocked by an admin or by BERTH_BLOCKED_USERS: no login, no session, no token (0009). */
  blocked: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface SessionsTable {
  /** sha256 of the session secret carried by the cookie; the secret itself is never stored. */
  id: string;
  user_id: number;
  created: Timestamp;
  expires_at: Timestamp;
  /** Last request in this session, kept to the minute (idle lifetime). */
  last_activity: Generated<Date>;
}

/** A single-use, expiring link that lets a person set the password of a new local account. */
export interface InvitationsTable {
  /** sha256 of the secret in the link. */
  id: string;
  username: string;
  admin: Generated<boolean>;
  created_by: string | null;
  created: Generated<Date>;
  expires_at: Date;
  used_at: Date | null;
}

export type TokenKind = 'api' | 'server' | 'oauth';

export interface ApiTokensTable {
  id: Generated<number>;
  user_id: number;
  /** sha256 hex of the token. */
  hash: string;
  /** First characters, safe to show. */
  prefix: string;
  kind: TokenKind;
  scopes: Json<string[]>;
  note: string | null;
  session_id: string | null;
  oauth_client_id: string | null;
  server_id: number | null;
  created: Timestamp;
  expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  last_activity: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** `stopped`: the server keeps its record (name, profile, last activity) until it is removed (0010). */
export type ServerState = 'pending' | 'running' | 'stopping' | 'stopped';

export interface ServersTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  state: ServerState;
  url: string | null;
  spawner_state: Json<Record<string, unknown>>;
  started: Timestamp;
  last_activity: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** The profile version the server was started from (0004-profiles); null for servers started before. */
  profile_name: ColumnType<string | null, string | null | undefined, string | null>;
  profile_version: ColumnType<number | null, number | null | undefined, number | null>;
  /** GPU devices the server holds, as BERTH_GPU_DEVICES names them. */
  gpu_devices: ColumnType<string[], string | undefined, string>;
}

export interface OAuthClientsTable {
  id: string;
  secret_hash: string;
  redirect_uri: string;
  allowed_scopes: Json<string[]>;
  server_id: number | null;
  description: string;
  created: Timestamp;
}

export interface OAuthCodesTable {
  /** sha256 of the code. */
  hash: string;
  client_id: string;
  user_id: number;
  session_id: string | null;
  redirect_uri: string;
  scopes: Json<string[]>;
  code_challenge: string | null;
  expires_at: Timestamp;
}

export interface GroupsTable {
  id: Generated<number>;
  name: string;
  /** Free-form JSON handed to spawners, as JupyterHub's group properties. */
  properties: Json<Record<string, unknown>>;
  created: Timestamp;
}

/** Group membership; `users.groups` mirrors it (GroupsRepo writes both). */
export interface UserGroupMapTable {
  user_id: number;
  group_id: number;
}

/** A profile's name; its meaning lives in immutable versions (0004-profiles). */
export interface ProfilesTable {
  id: Generated<number>;
  name: string;
  created: Timestamp;
}

export type ProfileSource = 'config' | 'api' | 'cli';

export interface ProfileVersionsTable {
  profile_id: number;
  version: number;
  /** The whole definition (profiles/spec.ts ProfileSpec), validated before it is stored. */
  spec: Json<Record<string, unknown>>;
  retired: ColumnType<boolean, boolean | undefined, never>;
  source: ProfileSource;
  author: string | null;
  created: Timestamp;
}

export type ProbeStatus = 'pending' | 'compatible' | 'incompatible' | 'failed';

export interface ImageProbesTable {
  image: string;
  status: ProbeStatus;
  jupyterhub_version: string | null;
  image_id: string | null;
  detail: ColumnType<string, string | undefined, string>;
  probed_at: Timestamp;
}

/** Run-time settings (0008-settings): the announcement banner. */
export interface SettingsTable {
  key: string;
  value: string;
  updated_by: string | null;
  updated: Timestamp;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  invitations: InvitationsTable;
  api_tokens: ApiTokensTable;
  servers: ServersTable;
  oauth_clients: OAuthClientsTable;
  oauth_codes: OAuthCodesTable;
  groups: GroupsTable;
  user_group_map: UserGroupMapTable;
  profiles: ProfilesTable;
  profile_versions: ProfileVersionsTable;
  image_probes: ImageProbesTable;
  settings: SettingsTable;
}

export type UserRow = Selectable<UsersTable>;
export type ServerRow = Selectable<ServersTable>;
export type TokenRow = Selectable<ApiTokensTable>;
export type NewToken = Insertable<ApiTokensTable>;
export type GroupRow = Selectable<GroupsTable>;

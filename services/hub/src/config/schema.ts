import { z } from 'zod';
import { internalTlsSchema } from './internal-tls.ts';

/** Names: lowercase, start with a letter or digit, safe in URLs, logs and Docker labels. */
export const USERNAME_RE = /^[a-z0-9][a-z0-9._@-]{0,63}$/;

const url = z.url({ protocol: /^https?$/ });

/** An LDAP attribute or option name. */
const ldapAttr = z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/);

/** LDAP login (docs/authentication.md). Exactly one of bindDnTemplate (direct bind) or searchBase. */
export const ldapSchema = z
  .strictObject({
    url: z.string().regex(/^ldaps?:\/\/[^/?#\s]+\/?$/, 'expected ldap://host[:port] or ldaps://host[:port]'),
    startTls: z.boolean(),
    /** PEM file of the CA(s) that sign the server's certificate; the system CAs when unset. Always verified. */
    caFile: z.string().min(1).optional(),
    /** Direct bind: e.g. `uid={username},ou=people,dc=example,dc=org`; the name is escaped (RFC 4514). */
    bindDnTemplate: z.string().includes('{username}').optional(),
    /** Search-then-bind: where users live. */
    searchBase: z.string().min(1).optional(),
    /** The service account that searches (anonymous when unset). */
    bindDn: z.string().min(1).optional(),
    bindPassword: z.string().min(1).optional(),
    usernameAttribute: ldapAttr,
    /** Extra filter ANDed with (usernameAttribute=name), e.g. `(objectClass=inetOrgPerson)`. */
    userFilter: z.string().min(3).optional(),
    groups: z.strictObject({
      from: z.enum(['memberOf', 'search', 'none']),
      searchBase: z.string().min(1).optional(),
      memberAttribute: ldapAttr,
      nameAttribute: ldapAttr,
      /** Follow nested groups (groups that are members of groups), by group searches under searchBase. */
      nested: z.boolean(),
    }),
    connectTimeoutMs: z.number().int().positive(),
    timeoutMs: z.number().int().positive(),
    /** Attributes of the user's entry kept (encrypted) in auth state at each login. */
    authStateAttributes: z.array(ldapAttr).max(32),
  })
  .superRefine((l, ctx) => {
    if (Boolean(l.bindDnTemplate) === Boolean(l.searchBase)) {
      ctx.addIssue({
        code: 'custom',
        path: ['bindDnTemplate'],
        message: 'set exactly one of BERTH_LDAP_BIND_DN_TEMPLATE (direct bind) or BERTH_LDAP_SEARCH_BASE',
      });
    }
    if (l.startTls && l.url.startsWith('ldaps:')) {
      ctx.addIssue({ code: 'custom', path: ['startTls'], message: 'StartTLS needs an ldap:// URL' });
    }
    if (l.bindDn && !l.bindPassword) {
      ctx.addIssue({ code: 'custom', path: ['bindPassword'], message: 'a service account needs a password' });
    }
    if (l.groups.nested && !l.groups.searchBase) {
      ctx.addIssue({
        code: 'custom',
        path: ['groups', 'nested'],
        message: 'nested groups are found by group searches: set BERTH_LDAP_GROUP_SEARCH_BASE',
      });
    }
    if (l.groups.from === 'search' && !l.groups.searchBase) {
      ctx.addIssue({
        code: 'custom',
        path: ['groups', 'searchBase'],
        message: 'required for a group search',
      });
    }
  });

/** OpenID Connect login (docs/authentication.md). */
export const oidcSchema = z.strictObject({
  displayName: z.string().min(1).max(64),
  issuer: url,
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/))
    .refine((s) => s.includes('openid'), 'must include openid'),
  usernameClaim: z.string().min(1),
  groupsClaim: z.string().min(1),
  caFile: z.string().min(1).optional(),
  timeoutMs: z.number().int().positive(),
  logoutAtIdp: z.boolean(),
  /** Claims (from the id_token, else userinfo) kept (encrypted) in auth state at each login. */
  authStateClaims: z.array(z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'not a claim name')).max(32),
});

/**
 * Names of extra OIDC providers (`oidc:<name>` in BERTH_AUTHENTICATORS, settings BERTH_OIDC_<NAME>_*). A name
 * may not be the first word of a setting of the unnamed provider, or a route of its own, so every
 * BERTH_OIDC_* variable means one thing.
 */
export const OIDC_PROVIDER_NAME_RE = /^[a-z][a-z0-9]{0,15}$/;
export const OIDC_RESERVED_NAMES = [
  'display',
  'issuer',
  'client',
  'scopes',
  'username',
  'groups',
  'ca',
  'timeout',
  'logout',
  'login',
  'callback',
  'auth',
] as const;
const oidcProviderName = z
  .string()
  .regex(OIDC_PROVIDER_NAME_RE, 'a provider name is a-z then up to 15 of a-z0-9')
  .refine((n) => !(OIDC_RESERVED_NAMES as readonly string[]).includes(n), 'reserved provider name');
const authenticatorKind = z.union([
  z.enum(['local', 'ldap', 'oidc']),
  z.string().regex(/^oidc:[a-z][a-z0-9]{0,15}$/, 'expected local, ldap, oidc or oidc:<name>'),
]);

const userName = z.string().regex(USERNAME_RE, 'not a valid user name');
const groupName = z.string().min(1).max(256);

/** Who may log in, and how (docs/authentication.md). Applied at every start. */
export const authSchema = z
  .strictObject({
    /** Enabled authenticators, in the order a login form tries them. */
    authenticators: z.array(authenticatorKind).min(1),
    allowAll: z.boolean(),
    allowedUsers: z.array(userName),
    blockedUsers: z.array(userName),
    allowedGroups: z.array(groupName),
    adminUsers: z.array(userName),
    adminGroups: z.array(groupName),
    /** At start, end the sessions and delete the tokens of users the configuration no longer allows. */
    revokeDisallowed: z.boolean(),
    /** Anyone may create a local account at /hub/signup (off by default; the allowed sets still apply). */
    localSignup: z.boolean(),
    /** At each login, make the user's hub groups exactly the groups LDAP or OIDC gave (JupyterHub's manage_groups). */
    manageGroups: z.boolean(),
    ldap: ldapSchema.optional(),
    oidc: oidcSchema.optional(),
    /** Extra OIDC providers by name, each enabled as `oidc:<name>` (docs/authentication.md). */
    oidcProviders: z.record(oidcProviderName, oidcSchema),
    /** Keys that encrypt auth state at rest (auth/state-crypto.ts); required with oidc. */
    authStateKeyFile: z.string().min(1).optional(),
  })
  .superRefine((a, ctx) => {
    if (new Set(a.authenticators).size !== a.authenticators.length) {
      ctx.addIssue({ code: 'custom', path: ['authenticators'], message: 'an authenticator is listed twice' });
    }
    if (a.authenticators.includes('oidc') && !a.oidc) {
      ctx.addIssue({ code: 'custom', path: ['oidc', 'issuer'], message: 'required when oidc is enabled' });
    }
    for (const name of Object.keys(a.oidcProviders)) {
      if (!a.authenticators.includes(`oidc:${name}`)) {
        ctx.addIssue({ code: 'custom', path: ['oidcProviders', name], message: 'not enabled' });
      }
    }
    for (const kind of a.authenticators) {
      const name = kind.startsWith('oidc:') ? kind.slice(5) : undefined;
      if (name !== undefined && !a.oidcProviders[name]) {
        ctx.addIssue({
          code: 'custom',
          path: ['oidcProviders', name, 'issuer'],
          message: `required when ${kind} is enabled`,
        });
      }
    }
    const buttons = [a.oidc, ...Object.values(a.oidcProviders)].flatMap((o) => (o ? [o.displayName] : []));
    if (new Set(buttons).size !== buttons.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['oidcProviders'],
        message: 'two OIDC providers have the same display name (their buttons would look alike)',
      });
    }
    const keeps =
      (a.ldap?.authStateAttributes.length ?? 0) > 0 ||
      [a.oidc, ...Object.values(a.oidcProviders)].some((o) => (o?.authStateClaims.length ?? 0) > 0);
    if (keeps && !a.authStateKeyFile) {
      ctx.addIssue({
        code: 'custom',
        path: ['authStateKeyFile'],
        message: 'attributes or claims kept in auth state are stored only encrypted: set a key file',
      });
    }
    if (a.authenticators.some((k) => k.startsWith('oidc')) && !a.authStateKeyFile) {
      ctx.addIssue({
        code: 'custom',
        path: ['authStateKeyFile'],
        message: 'oidc keeps refresh tokens, which are stored only encrypted: set a key file',
      });
    }
    if (a.authenticators.includes('ldap') && !a.ldap) {
      ctx.addIssue({ code: 'custom', path: ['ldap', 'url'], message: 'required when ldap is enabled' });
    }
    const external = a.authenticators.some((k) => k !== 'local');
    if (external && !a.allowAll && a.allowedUsers.length === 0 && a.allowedGroups.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['allowAll'],
        message:
          'an external authenticator is enabled but nobody is allowed: set BERTH_ALLOWED_USERS or BERTH_ALLOWED_GROUPS, or BERTH_ALLOW_ALL=1',
      });
    }
  });

/**
 * The hub's whole configuration, one validated schema. Unknown keys are refused so typos fail loudly.
 * Every knob is documented in docs/configuration.md.
 */
export const configSchema = z.strictObject({
  /** Public origin users type into the browser, e.g. https://jupyter.example.org. Decides Secure cookies. */
  publicUrl: url,
  /**
   * Per-user subdomains (JupyterHub's subdomain_host), off when unset: an https origin, the same as publicUrl's.
   * The hub stays there; user servers move to https://<user>.<its host>/user/<name>/ (docs/security.md).
   */
  subdomainHost: z
    .url({ protocol: /^https$/, error: 'expected an https:// origin' })
    .refine((u) => !URL.canParse(u) || new URL(u).pathname === '/', 'expected an origin without a path')
    .optional(),
  /** Where the hub listens. */
  bind: z.strictObject({ host: z.string().min(1), port: z.number().int().min(0).max(65535) }),
  /** Hub API URL as seen from user containers (JUPYTERHUB_API_URL). */
  hubApiUrlForServers: url,
  database: z.strictObject({
    url: z.string().min(1),
    /** How long the hub waits at start for the database to answer (a Swarm starts services in no order). */
    waitMs: z.number().int().min(0),
  }),
  secrets: z.strictObject({
    /** 32 random bytes, hex, in a 0600 file the hub owns. */
    cookieSecretFile: z.string().min(1),
    /** Refuse a cookie secret file readable by group or others. */
    enforceFileModes: z.boolean(),
  }),
  proxy: z.strictObject({
    apiUrl: url,
    authToken: z.string().min(16),
  }),
  spawner: z.strictObject({
    image: z.string().min(1),
    network: z.string().min(1),
    deploymentId: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/),
    prefix: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    port: z.number().int().min(1).max(65535),
    startTimeoutMs: z.number().int().positive(),
    /** How long a pull of a missing digest-pinned image may take; 0 never pulls. Runs before the start timeout. */
    pullTimeoutMs: z.number().int().nonnegative(),
    httpTimeoutMs: z.number().int().positive(),
    defaultUrl: z.string().startsWith('/'),
    memoryBytes: z.number().int().positive(),
    nanoCpus: z.number().int().positive(),
    pids: z.number().int().positive(),
    environment: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()),
    /** How often the hub asks the spawner whether running servers are still alive (JupyterHub's poll_interval). */
    pollIntervalMs: z.number().int().positive(),
    /**
     * `per-server`: each server gets its own internal network that only the proxy and the hub join, so servers
     * cannot reach each other. `shared`: every server joins `network`.
     */
    isolation: z.enum(['per-server', 'shared']),
    /** `docker`: containers on one engine. `swarm`: one Swarm service per server (docs/swarm.md). */
    backend: z.enum(['docker', 'swarm']),
    /** Swarm: placement constraints every server gets, e.g. `node.role==worker`. */
    swarmConstraints: z.array(z.string().regex(/^[a-zA-Z0-9._-]+\s*(==|!=)\s*[a-zA-Z0-9._\-/]+$/)),
    /** IPv4 range the /28 subnets of per-server networks come from. */
    subnetPool: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/),
    /** Compose services connected to every per-server network besides the hub (the proxy). */
    networkPeers: z.array(z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/)),
    /** IPv4 range the egress network's /24 comes from (profiles with outbound internet); the firewall filters it. */
    egressSubnetPool: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/),
    /** Spawns in flight at once; more are refused with 429 and Retry-After. 0: no limit. */
    concurrentSpawnLimit: z.number().int().nonnegative(),
    /** Servers running or starting over all users; more are refused with 429. 0: no limit. */
    activeServerLimit: z.number().int().nonnegative(),
    /** Servers one user may have running or starting. 0: no limit. */
    serversPerUserLimit: z.number().int().nonnegative(),
  }),
  /** Image profiles (docs/profiles.md): seeded into the database at start. */
  profiles: z.strictObject({
    /** JSON or YAML file of profiles; without it, one `default` profile comes from spawner.image. */
    file: z.string().min(1).optional(),
    /** GPU inventory: device ids or indices handed to profiles that ask for GPUs. Empty: no GPUs. */
    gpuDevices: z
      .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/))
      .refine((d) => new Set(d).size === d.length, 'a device is listed twice'),
  }),
  /** Idle culling (docs/configuration.md#idle-culling): stops servers nobody uses; never one with a busy kernel. */
  culling: z
    .strictObject({
      /** A server idle this long is stopped. 0: culling is off. */
      idleTimeoutMs: z.number().int().nonnegative(),
      /** A server running this long is stopped even if busy. 0: no limit. */
      maxAgeMs: z.number().int().nonnegative(),
      /** How often servers are checked. */
      intervalMs: z.number().int().positive(),
      /** How long before culling the user is warned. */
      warningMs: z.number().int().nonnegative(),
      /** Cull idle servers even while a browser or client keeps a kernel connection open. */
      cullConnected: z.boolean(),
      /** Cull admins' servers too. */
      cullAdmins: z.boolean(),
      /** Users whose servers are never culled. */
      exemptUsers: z.array(z.string().regex(USERNAME_RE)),
    })
    .refine((c) => c.idleTimeoutMs === 0 || c.warningMs < c.idleTimeoutMs, {
      message: 'the warning must come before the idle timeout',
      path: ['warningMs'],
    }),
  /** What happens to a user's home volumes when the user is deleted (docs/configuration.md#volumes). */
  volumes: z.strictObject({
    onUserDelete: z.enum(['archive', 'delete', 'keep']),
  }),
  sessions: z.strictObject({
    /** Absolute lifetime of a login session. */
    maxAgeSeconds: z.number().int().positive(),
    /** Login attempts per username per minute before 429. */
    loginAttemptsPerMinute: z.number().int().positive(),
    /** Login attempts per client address per minute before 429 (the client as trustedProxies reveal it). */
    loginAttemptsPerMinutePerClient: z.number().int().positive(),
    /** A session unused this long ends (besides maxAgeSeconds). 0: no idle limit. */
    idleSeconds: z.number().int().nonnegative(),
  }),
  /** Custom roles and services (docs/configuration.md#roles-and-services): a JSON or YAML file. */
  rbac: z.strictObject({ file: z.string().min(1).optional() }),
  /**
   * Reverse proxies whose X-Forwarded-For the hub believes (IP addresses, CIDR ranges, host names), hop by hop
   * from the socket. Empty: the client is the socket's peer.
   */
  trustedProxies: z.array(
    z
      .string()
      .regex(
        /^(?:[0-9a-fA-F:.]+(?:\/\d{1,3})?|[A-Za-z0-9](?:[A-Za-z0-9._-]{0,252}))$/,
        'expected an IP address, a CIDR range or a host name',
      ),
  ),
  /** The JupyterHub version reported to single-user servers; match the major of your images. */
  jupyterhubVersion: z.string().regex(/^\d+\.\d+\.\d+$/),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  auth: authSchema,
  /** mTLS between the proxy, the hub and user servers, with a trust graph of authorities (docs/security.md). */
  internalTls: internalTlsSchema,
});

export type Config = Readonly<z.infer<typeof configSchema>>;

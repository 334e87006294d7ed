import { z } from 'zod';

/** Names: lowercase, start with a letter or digit, safe in URLs, logs and Docker labels. */
export const USERNAME_RE = /^[a-z0-9][a-z0-9._@-]{0,63}$/;

const url = z.url({ protocol: /^https?$/ });

/**
 * The hub's whole configuration, one validated schema. Unknown keys are refused so typos fail loudly.
 * Every knob is documented in docs/configuration.md.
 */
export const configSchema = z.strictObject({
  /** Public origin users type into the browser, e.g. https://jupyter.example.org. Decides Secure cookies. */
  publicUrl: url,
  /** Where the hub listens. */
  bind: z.strictObject({ host: z.string().min(1), port: z.number().int().min(0).max(65535) }),
  /** Hub API URL as seen from user containers (JUPYTERHUB_API_URL). */
  hubApiUrlForServers: url,
  database: z.strictObject({ url: z.string().min(1) }),
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
    httpTimeoutMs: z.number().int().positive(),
    defaultUrl: z.string().startsWith('/'),
    memoryBytes: z.number().int().positive(),
    nanoCpus: z.number().int().positive(),
    pids: z.number().int().positive(),
    environment: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()),
    /** How often the hub asks the spawner whether running servers are still alive (JupyterHub's poll_interval). */
    pollIntervalMs: z.number().int().positive(),
  }),
  sessions: z.strictObject({
    /** Absolute lifetime of a login session. */
    maxAgeSeconds: z.number().int().positive(),
    /** Login attempts per username per minute before 429. */
    loginAttemptsPerMinute: z.number().int().positive(),
  }),
  /** The JupyterHub version reported to single-user servers; match the major of your images. */
  jupyterhubVersion: z.string().regex(/^\d+\.\d+\.\d+$/),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
});

export type Config = Readonly<z.infer<typeof configSchema>>;

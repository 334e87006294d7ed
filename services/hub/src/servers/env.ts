import { accessScope, oauthClientId, serverPrefix } from './naming.ts';
import { pathUserHosts, type UserHosts } from './user-hosts.ts';

export interface EnvInput {
  readonly user: string;
  readonly serverName: string;
  readonly token: string;
  readonly hubApiUrl: string;
  readonly publicUrl: string;
  readonly port: number;
  readonly image: string;
  readonly defaultUrl: string;
  readonly memoryBytes?: number;
  readonly nanoCpus?: number;
  readonly adminEnv: Readonly<Record<string, string>>;
  /** Per-user subdomains; paths on the hub's origin when absent. */
  readonly userHosts?: UserHosts;
}

/** The environment contract of PROTOCOL.md, for JupyterHub 3.x to 6.x single-user servers. */
export function singleUserEnv(i: EnvInput): Record<string, string> {
  const prefix = serverPrefix(i.user, i.serverName);
  const access = [accessScope(i.user, i.serverName), `access:servers!user=${i.user}`];
  const hosts = i.userHosts ?? pathUserHosts;
  const hubOrigin = new URL(i.publicUrl).origin;
  const origin = hosts.subdomains ? hosts.origin(i.user) : hubOrigin;
  const env: Record<string, string> = {
    JUPYTERHUB_API_TOKEN: i.token,
    JPY_API_TOKEN: i.token,
    JUPYTERHUB_CLIENT_ID: decodeURIComponent(oauthClientId(i.user, i.serverName)),
    JUPYTERHUB_API_URL: i.hubApiUrl,
    JUPYTERHUB_ACTIVITY_URL: `${i.hubApiUrl}/users/${encodeURIComponent(i.user)}/activity`,
    JUPYTERHUB_BASE_URL: '/',
    JUPYTERHUB_SERVICE_PREFIX: prefix,
    JUPYTERHUB_SERVICE_URL: `http://0.0.0.0:${i.port}${prefix}`,
    JUPYTERHUB_OAUTH_CALLBACK_URL: hosts.callbackUrl(i.user, i.serverName),
    JUPYTERHUB_OAUTH_ACCESS_SCOPES: JSON.stringify(access),
    JUPYTERHUB_OAUTH_SCOPES: JSON.stringify(access),
    JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES: JSON.stringify([]),
    JUPYTERHUB_USER: i.user,
    JUPYTERHUB_SERVER_NAME: i.serverName,
    // The hub's public origin with subdomains (JupyterHub's hub.public_host = subdomain_host): servers send
    // browsers there to log in and authorize.
    JUPYTERHUB_HOST: hosts.subdomains ? hubOrigin : '',
    JUPYTERHUB_PUBLIC_URL: `${origin}${prefix}`,
    JUPYTERHUB_PUBLIC_HUB_URL: `${hubOrigin}/hub/`,
    JUPYTERHUB_DISABLE_USER_CONFIG: '1',
    JUPYTERHUB_DEFAULT_URL: i.defaultUrl,
    JUPYTERHUB_ALLOW_TOKEN_IN_URL: '0',
    JUPYTER_IMAGE_SPEC: i.image,
    JUPYTER_IMAGE: i.image,
  };
  // The server's own cookies become `__Host-` (Secure, Path=/) on its own host (PROTOCOL.md).
  if (hosts.subdomains) env.JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED = '1';
  if (i.memoryBytes) env.MEM_LIMIT = String(i.memoryBytes);
  if (i.nanoCpus) env.CPU_LIMIT = String(i.nanoCpus / 1e9);
  // Admin-defined environment is applied last; users can never set any.
  return { ...env, ...i.adminEnv };
}

import { createHash } from 'node:crypto';
import { serverPrefix } from './naming.ts';

/**
 * Where each user's servers live. Off (the default): every server is a path on the hub's origin,
 * `/user/<name>/`. With per-user subdomains (BERTH_SUBDOMAIN_HOST, JupyterHub's `subdomain_host`): the hub stays
 * at the main host and a user's servers are at `https://<user>.<main host>/user/<name>/`, so user code never
 * shares an origin with the hub or with another user.
 */
export interface UserHosts {
  /** `true` with per-user subdomains. */
  readonly subdomains: boolean;
  /** The user's origin, e.g. `https://alice.hub.example.org`; `''` without subdomains. */
  origin(user: string): string;
  /** The proxy route: `/user/alice/`, or `/alice.hub.example.org/user/alice/` (CHP's host routing). */
  routePath(user: string, serverName: string): string;
  /** Where a browser finds the server: a path, or a full URL with subdomains. */
  serverUrl(user: string, serverName: string): string;
  /** The server's OAuth redirect_uri (JUPYTERHUB_OAUTH_CALLBACK_URL): a path, or a full URL with subdomains. */
  callbackUrl(user: string, serverName: string): string;
  /** Whether `host` (host[:port], as in a URL) is some user's host; always false without subdomains. */
  isUserHost(host: string): boolean;
}

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A user name as one DNS label. Names that are already a label (and hold no `--`) are used as they are; others
 * (`.`, `_`, `@`, too long) become `<readable part>--<12 hex of SHA-256>`. The two forms never collide: only
 * encoded labels hold `--`.
 */
export function dnsLabel(user: string): string {
  const name = user.toLowerCase();
  if (DNS_LABEL.test(name) && !name.includes('--')) return name;
  const hash = createHash('sha256').update(user).digest('hex').slice(0, 12);
  const readable = name
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return readable ? `${readable}--${hash}` : `u--${hash}`;
}

export const pathUserHosts: UserHosts = {
  subdomains: false,
  origin: () => '',
  routePath: (user, server) => serverPrefix(user, server),
  serverUrl: (user, server) => serverPrefix(user, server),
  callbackUrl: (user, server) => `${serverPrefix(user, server)}oauth_callback`,
  isUserHost: () => false,
};

/** Per-user subdomains under `subdomainHost` (an `https://` origin, the hub's own). */
export function subdomainUserHosts(subdomainHost: string): UserHosts {
  const base = new URL(subdomainHost);
  const hostname = (user: string) => `${dnsLabel(user)}.${base.hostname}`;
  const origin = (user: string) => `${base.protocol}//${hostname(user)}${base.port ? `:${base.port}` : ''}`;
  return {
    subdomains: true,
    origin,
    routePath: (user, server) => `/${hostname(user)}${serverPrefix(user, server)}`,
    serverUrl: (user, server) => `${origin(user)}${serverPrefix(user, server)}`,
    callbackUrl: (user, server) => `${origin(user)}${serverPrefix(user, server)}oauth_callback`,
    isUserHost: (host) => {
      const u = new URL(`${base.protocol}//${host}`);
      if (u.port !== base.port || !u.hostname.endsWith(`.${base.hostname}`)) return false;
      const label = u.hostname.slice(0, -(base.hostname.length + 1));
      return DNS_LABEL.test(label);
    },
  };
}

export function userHostsFor(subdomainHost: string | undefined): UserHosts {
  return subdomainHost ? subdomainUserHosts(subdomainHost) : pathUserHosts;
}

/** CSP sources for every user host (`https://*.hub.example.org`), for form-action; none without subdomains. */
export function userHostSources(subdomainHost: string | undefined): string[] {
  if (!subdomainHost) return [];
  const u = new URL(subdomainHost);
  return [`${u.protocol}//*.${u.host}`];
}

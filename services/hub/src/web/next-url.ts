import type { UserHosts } from '../servers/user-hosts.ts';

/**
 * Only same-origin paths are allowed as post-login destinations: no scheme, no host, no `//` or `/\`
 * (which browsers treat as protocol-relative), no control characters.
 */
export function safeNext(next: unknown, fallback = '/hub/home'): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2048) return fallback;
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return fallback;
  try {
    const u = new URL(next, 'http://same.invalid');
    if (u.origin !== 'http://same.invalid') return fallback;
    return u.pathname + u.search + u.hash;
  } catch {
    return fallback;
  }
}

/**
 * With per-user subdomains, a post-login destination may also be a full URL on the signed-in user's own host
 * (`https://alice.hub.example.org/user/alice/...`): no other user's host, no other site, no credentials in the
 * URL. Everything else goes through safeNext. Without subdomains this is safeNext.
 */
export function safeNextForUser(
  next: unknown,
  hosts: UserHosts,
  user: string,
  fallback = '/hub/home',
): string {
  const own = ownHostUrl(next, hosts, (origin) => origin === hosts.origin(user));
  return own ?? safeNext(next, fallback);
}

/**
 * Before login the user is not known yet: keep a full URL on any user host (it is checked against the user's own
 * host after login by safeNextForUser), else safeNext.
 */
export function safeNextBeforeLogin(next: unknown, hosts: UserHosts, fallback = '/hub/home'): string {
  const any = ownHostUrl(next, hosts, (_origin, host) => hosts.isUserHost(host));
  return any ?? safeNext(next, fallback);
}

function ownHostUrl(
  next: unknown,
  hosts: UserHosts,
  allowed: (origin: string, host: string) => boolean,
): string | undefined {
  if (!hosts.subdomains || typeof next !== 'string' || next.length > 2048) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f\\\s]/.test(next) || !/^https:\/\//i.test(next)) return undefined;
  let u: URL;
  try {
    u = new URL(next);
  } catch {
    return undefined;
  }
  if (u.username || u.password || !allowed(u.origin, u.host)) return undefined;
  return u.href;
}

/**
 * Path handling, following configurable-http-proxy:
 * - route keys are "trimmed": a leading `/` is ensured and a trailing `/` removed, except for the root `/`;
 * - matching splits a percent-decoded path on `/` (so `%2F` separates segments, as in CHP);
 * - request targets are resolved like a browser resolves them (WHATWG URL), so `.`/`..` segments, also written
 *   `%2e`, are removed before matching, and the target receives that same resolved path. A request can therefore
 *   never be matched against one route while the upstream sees a path under another.
 */

const BASE = 'http://base.invalid';

/** CHP's `trimPrefix`: `user/alice/` → `/user/alice`, `` → `/`. */
export function trimRoutePath(path: string): string {
  let trimmed = path.startsWith('/') ? path : `/${path}`;
  if (trimmed.length > 1 && trimmed.endsWith('/')) trimmed = trimmed.slice(0, -1);
  return trimmed;
}

/** CHP's `stringToPath`: strip leading and trailing slashes, split on `/`; the root is `[]`. */
export function pathSegments(path: string): string[] {
  const stripped = path.replace(/^\/+|\/+$/g, '');
  return stripped === '' ? [] : stripped.split('/');
}

export interface RequestTarget {
  /** The resolved, still percent-encoded path, as forwarded upstream. */
  readonly pathname: string;
  /** `?…` or `` */
  readonly search: string;
}

/**
 * Resolve a request-target. Accepts origin-form (`/path?q`) and absolute-form (`http://host/path`); anything else
 * (`*`, authority-form, garbage) gives undefined.
 */
export function parseRequestTarget(raw: string | undefined): RequestTarget | undefined {
  if (raw === undefined) return undefined;
  return fastRequestTarget(raw) ?? parseWithUrl(raw);
}

/**
 * A path (and query) that the WHATWG parser would leave exactly as it is: only characters it never re-encodes,
 * no `.`/`..` segment, no `%2e` (an encoded dot may form one), no `\\` (a separator for http URLs), no fragment.
 */
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const PLAIN_QUERY = /^[A-Za-z0-9\-._~!$&()*+,;=:@/?%[\]^|{}`]*$/;
const DOT_SEGMENT = /(?:^|\/)\.{1,2}(?:\/|$)|%2e/i;

/**
 * The common case without building a URL: most request targets are already in the resolved form. Anything the
 * parser could change goes the long way, so the answer is always the parser's (paths.test.ts checks both ways agree).
 */
export function fastRequestTarget(raw: string): RequestTarget | undefined {
  const q = raw.indexOf('?');
  const pathname = q === -1 ? raw : raw.slice(0, q);
  if (!PLAIN_PATH.test(pathname) || DOT_SEGMENT.test(pathname)) return undefined;
  if (q === -1) return { pathname, search: '' };
  const query = raw.slice(q + 1);
  if (!PLAIN_QUERY.test(query)) return undefined;
  return { pathname, search: query === '' ? '' : `?${query}` };
}

/** The reference: the WHATWG URL parser. */
export function parseWithUrl(raw: string): RequestTarget | undefined {
  let url: URL;
  try {
    if (raw.startsWith('/')) {
      // Prefixing a full origin keeps `//host/x` a path, where `new URL(raw, base)` would read a host.
      url = new URL(BASE + raw);
    } else if (/^https?:\/\//i.test(raw)) {
      url = new URL(raw);
    } else {
      return undefined;
    }
  } catch {
    return undefined;
  }
  return { pathname: url.pathname, search: url.search };
}

/** Percent-decode a path for matching, like CHP's `decodeURIComponent`; undefined when malformed. */
export function decodePath(pathname: string): string | undefined {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
}

/** A Host header's hostname for host routing: lower-cased, port removed; undefined unless a plain DNS name or IPv4. */
export function routingHost(hostHeader: string | undefined): string | undefined {
  if (hostHeader === undefined) return undefined;
  const host = hostHeader.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  return /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(host) ? host : undefined;
}

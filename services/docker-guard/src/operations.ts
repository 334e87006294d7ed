/**
 * The Docker API calls the guard knows, parsed from method and URL. Anything that does not parse is refused:
 * this list IS the allowlist (docs/security.md#the-docker-api-guard). Object names are checked against
 * Docker's own name syntax, so no encoded slash, dot-dot or query can ride along in a path segment, and the
 * request is forwarded to a path rebuilt from the parsed parts.
 */

export type Operation =
  | { readonly kind: 'ping' }
  | { readonly kind: 'version' }
  | { readonly kind: 'image.inspect'; readonly name: string }
  /** A pull by digest (`POST /images/create?fromImage=<repo>&tag=sha256:…`) of a missing profile image. */
  | { readonly kind: 'image.pull' }
  | { readonly kind: 'container.create' }
  | { readonly kind: 'container.list' }
  | { readonly kind: 'container.inspect'; readonly id: string }
  | { readonly kind: 'container.action'; readonly id: string; readonly action: ContainerAction }
  | { readonly kind: 'container.logs'; readonly id: string }
  | { readonly kind: 'container.remove'; readonly id: string }
  | { readonly kind: 'container.archive'; readonly id: string; readonly write: boolean }
  | { readonly kind: 'volume.create' }
  | { readonly kind: 'volume.list' }
  | { readonly kind: 'volume.inspect'; readonly name: string }
  | { readonly kind: 'volume.remove'; readonly name: string }
  | { readonly kind: 'network.create' }
  | { readonly kind: 'network.inspect'; readonly id: string }
  | { readonly kind: 'network.connect'; readonly id: string }
  | { readonly kind: 'network.disconnect'; readonly id: string }
  | { readonly kind: 'network.remove'; readonly id: string }
  // Swarm (the Swarm spawner, on a manager): services, their tasks, nodes, and TLS secrets.
  | { readonly kind: 'service.create' }
  | { readonly kind: 'service.list' }
  | { readonly kind: 'service.inspect'; readonly id: string }
  | { readonly kind: 'service.remove'; readonly id: string }
  | { readonly kind: 'service.logs'; readonly id: string }
  | { readonly kind: 'task.list' }
  | { readonly kind: 'node.list' }
  | { readonly kind: 'secret.create' }
  | { readonly kind: 'secret.list' }
  | { readonly kind: 'secret.remove'; readonly id: string };

export type ContainerAction = 'start' | 'stop' | 'kill' | 'wait';

export interface ParsedRequest {
  readonly op: Operation;
  /** `/v1.41` or '' */
  readonly version: string;
  /** The path to forward, rebuilt from the parsed parts (version prefix kept). */
  readonly path: string;
  readonly query: URLSearchParams;
}

/** Docker object names and IDs: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`. */
const OBJECT = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;
/** An image reference as it appears in /images/{name}/json: repository[:tag][@digest] or sha256:id. */
const IMAGE =
  /^(sha256:[0-9a-f]{64}|[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?)$/;

function seg(s: string | undefined): string | undefined {
  return s !== undefined && OBJECT.test(s) && !s.includes('..') ? s : undefined;
}

/** Parses a request line; undefined means "not a call the guard allows". */
export function parseRequest(method: string, rawUrl: string): ParsedRequest | undefined {
  if (!rawUrl.startsWith('/') || /[\s#]/.test(rawUrl)) return undefined;
  const q = rawUrl.indexOf('?');
  const pathname = q === -1 ? rawUrl : rawUrl.slice(0, q);
  // No percent-encoding, no dot segments, no doubled slashes, no backslashes in the path: nothing to normalize.
  if (/%|\\|\/\/|\/\.\.?(\/|$)/.test(pathname)) return undefined;
  const query = new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1));
  const vm = /^(\/v1\.\d{1,2})(\/.*)$/.exec(pathname);
  const version = vm?.[1] ?? '';
  const path = vm?.[2] ?? pathname;
  const op = route(method.toUpperCase(), path);
  if (!op) return undefined;
  return { op, version, path: version + path, query: keepParams(op, query) };
}

/** The query parameters Docker reads for each call; everything else (dockerode copies bodies there) is dropped. */
const PARAMS: Partial<Record<Operation['kind'] | `container.action.${ContainerAction}`, readonly string[]>> =
  {
    'container.create': ['name'],
    'image.pull': ['fromImage', 'tag'],
    'container.list': ['all', 'filters', 'limit'],
    'container.logs': ['stdout', 'stderr', 'tail', 'follow', 'timestamps', 'since', 'until'],
    'container.remove': ['force', 'v'],
    'container.archive': ['path', 'noOverwriteDirNonDir', 'copyUIDGID'],
    'volume.list': ['filters'],
    'container.action.stop': ['t'],
    'container.action.kill': ['signal'],
    'container.action.wait': ['condition'],
    'volume.remove': ['force'],
    'service.list': ['filters'],
    'service.logs': ['stdout', 'stderr', 'tail', 'follow', 'timestamps', 'since', 'details'],
    'task.list': ['filters'],
    'secret.list': ['filters'],
  };

function keepParams(op: Operation, query: URLSearchParams): URLSearchParams {
  const key = op.kind === 'container.action' ? (`container.action.${op.action}` as const) : op.kind;
  const allowed = new Set(PARAMS[key] ?? []);
  const out = new URLSearchParams();
  for (const [k, v] of query) if (allowed.has(k)) out.append(k, v);
  return out;
}

/** The URL to forward: the rebuilt path and only the parameters Docker reads for this call. */
export function forwardUrl(r: ParsedRequest): string {
  const qs = r.query.toString();
  return qs ? `${r.path}?${qs}` : r.path;
}

function route(method: string, path: string): Operation | undefined {
  const p = path.split('/').slice(1);
  const [a, b, c, d] = p;
  if (path === '/_ping' && (method === 'GET' || method === 'HEAD')) return { kind: 'ping' };
  if (path === '/version' && method === 'GET') return { kind: 'version' };

  if (path === '/images/create' && method === 'POST') return { kind: 'image.pull' };
  if (a === 'images' && method === 'GET') {
    const m = /^\/images\/(.+)\/json$/.exec(path);
    if (m?.[1] && IMAGE.test(m[1]) && !m[1].includes('..')) return { kind: 'image.inspect', name: m[1] };
    return undefined;
  }

  if (a === 'containers') {
    if (p.length === 2 && b === 'create' && method === 'POST') return { kind: 'container.create' };
    if (p.length === 2 && b === 'json' && method === 'GET') return { kind: 'container.list' };
    const id = seg(b);
    if (!id) return undefined;
    if (p.length === 2 && method === 'DELETE') return { kind: 'container.remove', id };
    if (p.length !== 3 || d !== undefined) return undefined;
    if (c === 'json' && method === 'GET') return { kind: 'container.inspect', id };
    if (c === 'logs' && method === 'GET') return { kind: 'container.logs', id };
    if (c === 'archive' && method === 'PUT') return { kind: 'container.archive', id, write: true };
    if (c === 'archive' && method === 'GET') return { kind: 'container.archive', id, write: false };
    if ((c === 'start' || c === 'stop' || c === 'kill' || c === 'wait') && method === 'POST') {
      return { kind: 'container.action', id, action: c };
    }
    return undefined;
  }

  if (a === 'volumes') {
    if (p.length === 2 && b === 'create' && method === 'POST') return { kind: 'volume.create' };
    if (p.length === 1 && method === 'GET') return { kind: 'volume.list' };
    const name = seg(b);
    if (!name || p.length !== 2) return undefined;
    if (method === 'GET') return { kind: 'volume.inspect', name };
    if (method === 'DELETE') return { kind: 'volume.remove', name };
    return undefined;
  }

  if (a === 'networks') {
    if (p.length === 2 && b === 'create' && method === 'POST') return { kind: 'network.create' };
    const id = seg(b);
    if (!id) return undefined;
    if (p.length === 2 && method === 'GET') return { kind: 'network.inspect', id };
    if (p.length === 2 && method === 'DELETE') return { kind: 'network.remove', id };
    if (p.length === 3 && c === 'connect' && method === 'POST') return { kind: 'network.connect', id };
    if (p.length === 3 && c === 'disconnect' && method === 'POST') return { kind: 'network.disconnect', id };
    return undefined;
  }
  if (a === 'services' || a === 'tasks' || a === 'nodes' || a === 'secrets') return swarmRoute(method, p);
  return undefined;
}

function swarmRoute(method: string, p: readonly string[]): Operation | undefined {
  const [a, b, c] = p;
  if (p.length === 1 && method === 'GET') {
    if (a === 'services') return { kind: 'service.list' };
    if (a === 'tasks') return { kind: 'task.list' };
    if (a === 'nodes') return { kind: 'node.list' };
    if (a === 'secrets') return { kind: 'secret.list' };
    return undefined;
  }
  if (p.length === 2 && b === 'create' && method === 'POST') {
    if (a === 'services') return { kind: 'service.create' };
    if (a === 'secrets') return { kind: 'secret.create' };
    return undefined;
  }
  const id = seg(b);
  if (!id) return undefined;
  if (a === 'services') {
    if (p.length === 2 && method === 'GET') return { kind: 'service.inspect', id };
    if (p.length === 2 && method === 'DELETE') return { kind: 'service.remove', id };
    if (p.length === 3 && c === 'logs' && method === 'GET') return { kind: 'service.logs', id };
  }
  if (a === 'secrets' && p.length === 2 && method === 'DELETE') return { kind: 'secret.remove', id };
  return undefined;
}

/** Operations whose JSON body the guard reads (and forwards re-serialized) before deciding. */
export function needsBody(op: Operation): boolean {
  return (
    op.kind === 'container.create' ||
    op.kind === 'volume.create' ||
    op.kind === 'network.create' ||
    op.kind === 'network.connect' ||
    op.kind === 'network.disconnect' ||
    op.kind === 'service.create' ||
    op.kind === 'secret.create'
  );
}

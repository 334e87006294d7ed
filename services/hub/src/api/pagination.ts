import type { FastifyRequest } from 'fastify';
import { HubError } from '../errors.ts';

/** JupyterHub's `api_page_max_limit`; also Berth's default, so a plain list is as complete as it can be. */
export const PAGE_MAX_LIMIT = 200;
export const PAGINATION_MEDIA_TYPE = 'application/jupyterhub-pagination+json';

export interface Page {
  readonly offset: number;
  readonly limit: number;
}

function count(v: unknown, key: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d{1,9}$/.test(v)) {
    throw new HubError('BAD_REQUEST', `${key} must be a non-negative integer`);
  }
  return Number(v);
}

/** `offset` and `limit` from the query string; a limit above the maximum is lowered to it, as JupyterHub does. */
export function pageFromQuery(req: FastifyRequest): Page {
  const q = (req.query ?? {}) as Record<string, unknown>;
  const offset = count(q.offset, 'offset') ?? 0;
  const limit = count(q.limit, 'limit') ?? PAGE_MAX_LIMIT;
  if (limit < 1) throw new HubError('BAD_REQUEST', 'limit must be at least 1');
  return { offset, limit: Math.min(limit, PAGE_MAX_LIMIT) };
}

/**
 * JupyterHub's `?include_stopped_servers`: present (with any value but `0` or `false`, or none) lists stopped
 * servers in the user model's `servers` too.
 */
export function includeStoppedServers(req: FastifyRequest): boolean {
  const v = ((req.query ?? {}) as Record<string, unknown>).include_stopped_servers;
  if (v === undefined) return false;
  if (typeof v !== 'string') throw new HubError('BAD_REQUEST', 'include_stopped_servers must be given once');
  return !['0', 'false'].includes(v.toLowerCase());
}

export function wantsPagination(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes(PAGINATION_MEDIA_TYPE);
}

/**
 * The body JupyterHub sends for `Accept: application/jupyterhub-pagination+json`. `keep`: query parameters the
 * next page's URL carries over (e.g. `include_stopped_servers`, as JupyterHub since 4.0.2).
 */
export function paginated<T>(
  items: T[],
  page: Page,
  total: number,
  baseUrl: string,
  keep: Readonly<Record<string, string>> = {},
) {
  const nextOffset = page.offset + items.length;
  const extra = Object.entries(keep)
    .map(([k, v]) => `&${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('');
  const next =
    items.length > 0 && nextOffset < total
      ? {
          offset: nextOffset,
          limit: page.limit,
          url: `${baseUrl}?offset=${nextOffset}&limit=${page.limit}${extra}`,
        }
      : null;
  return { items, _pagination: { offset: page.offset, limit: page.limit, total, next } };
}

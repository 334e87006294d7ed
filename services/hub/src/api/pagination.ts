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

export function wantsPagination(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes(PAGINATION_MEDIA_TYPE);
}

/** The body JupyterHub sends for `Accept: application/jupyterhub-pagination+json`. */
export function paginated<T>(items: T[], page: Page, total: number, baseUrl: string) {
  const nextOffset = page.offset + items.length;
  const next =
    items.length > 0 && nextOffset < total
      ? { offset: nextOffset, limit: page.limit, url: `${baseUrl}?offset=${nextOffset}&limit=${page.limit}` }
      : null;
  return { items, _pagination: { offset: page.offset, limit: page.limit, total, next } };
}

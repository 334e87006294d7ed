import type { FastifyInstance } from 'fastify';
import type { HubContext } from './context.ts';
import type { Xsrf } from './xsrf.ts';

export interface RouteDeps {
  readonly ctx: HubContext;
  /** XSRF tokens for pages, and their check for cookie-authenticated requests. */
  readonly xsrf: Xsrf;
  /** Whether cookies get the Secure flag (public URL is https). */
  readonly secureCookies: boolean;
}

export type RouteModule = (app: FastifyInstance, deps: RouteDeps) => void;

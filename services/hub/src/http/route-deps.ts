import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HubContext } from './context.ts';

export interface RouteDeps {
  readonly ctx: HubContext;
  /** Verifies the XSRF token of a cookie-authenticated request; throws XSRF_MISSING. */
  readonly verifyXsrf: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Whether cookies get the Secure flag (public URL is https). */
  readonly secureCookies: boolean;
}

export type RouteModule = (app: FastifyInstance, deps: RouteDeps) => void;

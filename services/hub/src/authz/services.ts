import type { FastifyRequest } from 'fastify';
import type { Identity } from '../auth/identity.ts';
import { HubError } from '../errors.ts';
import { hashToken, tokenFromAuthorization } from '../sessions/tokens.ts';
import type { ServiceDef } from './rbac-file.ts';
import type { RoleBook } from './roles.ts';
import { expandScopes } from './scopes.ts';

/** A service from the RBAC file, calling with its API token: it holds only its roles' scopes. */
export interface ServiceIdentity {
  readonly via: 'service';
  readonly service: ServiceDef;
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
  readonly user?: undefined;
  readonly sessionId: null;
}

/** Whoever calls an API endpoint that services may use too. */
export type Caller = Identity | ServiceIdentity;

/** For logs and audit: the user's name, or `service:<name>`. */
export const actorName = (c: Caller): string =>
  c.via === 'service' ? `service:${c.service.name}` : c.user.name;

/** Service tokens by their sha256, read once at start from each service's token file. */
export class ServiceTokens {
  readonly #byHash: ReadonlyMap<string, ServiceDef>;
  readonly #roles: RoleBook;

  constructor(roles: RoleBook, tokens: ReadonlyMap<string, string>) {
    this.#roles = roles;
    const byHash = new Map<string, ServiceDef>();
    for (const s of roles.services()) {
      const t = tokens.get(s.name);
      if (t) byHash.set(hashToken(t), s);
    }
    this.#byHash = byHash;
  }

  /** The service whose token the Authorization header carries, with its expanded scopes. */
  identify(req: FastifyRequest): ServiceIdentity | undefined {
    const token = tokenFromAuthorization(req.headers.authorization);
    const service = token ? this.#byHash.get(hashToken(token)) : undefined;
    if (!service) return undefined;
    const held = this.#roles.forService(service.name);
    // A service is no user: `self` and `inherit` give it nothing (JupyterHub resolves them to no scope).
    const raw = held.scopes.filter((s) => s !== 'self' && s !== 'inherit');
    return {
      via: 'service',
      service,
      roles: held.roles,
      scopes: expandScopes(raw, { name: '', admin: false }),
      sessionId: null,
    };
  }
}

/** Endpoints that only a user can use (their own tokens, granting admin) refuse services clearly. */
export function requireUser(c: Caller): Identity {
  if (c.via === 'service') throw new HubError('FORBIDDEN', 'a service cannot do this; only a user can');
  return c;
}

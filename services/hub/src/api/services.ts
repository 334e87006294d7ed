import type { FastifyRequest } from 'fastify';
import type { ServiceDef } from '../authz/rbac-file.ts';
import { SERVICE_NAME_RE } from '../authz/rbac-file.ts';
import { hasScope, parseScope } from '../authz/scopes.ts';
import type { Caller } from '../authz/services.ts';
import { HubError } from '../errors.ts';
import { apiCaller } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';

/** A service as JupyterHub shapes it, cut to what the caller may read. Berth never runs services itself. */
export function serviceModel(c: Caller, s: ServiceDef, roles: readonly string[]): Record<string, unknown> {
  const target = { service: s.name };
  const model: Record<string, unknown> = { kind: 'service', name: s.name, admin: false };
  if (hasScope(c.scopes, 'read:roles:services', target)) model.roles = roles;
  if (hasScope(c.scopes, 'read:services', target)) {
    Object.assign(model, {
      url: s.url ?? '',
      prefix: '',
      command: [],
      pid: 0,
      info: s.info,
      display: s.display,
    });
  }
  return model;
}

/** Which services `list:services` shows: all, the `!service=` named ones, or none. */
function listable(c: Caller): 'all' | Set<string> {
  const names = new Set<string>();
  for (const raw of c.scopes) {
    const p = parseScope(raw);
    if (p?.name !== 'list:services') continue;
    if (!p.filter) return 'all';
    if (p.filter.kind === 'service') names.add(p.filter.value);
  }
  return names;
}

/** `GET /hub/api/services` (a name → model object, as JupyterHub) and `GET /hub/api/services/:name`. */
export const servicesRoutes: RouteModule = (app, { ctx, xsrf }) => {
  const rolesOf = (name: string) => ctx.roles.forService(name).roles;

  app.get('/hub/api/services', async (req) => {
    const c = await apiCaller(ctx, req, xsrf);
    const which = listable(c);
    if (which !== 'all' && which.size === 0) {
      throw new HubError('FORBIDDEN', 'action requires the scope list:services');
    }
    const out: Record<string, unknown> = {};
    for (const s of ctx.roles.services()) {
      if (which === 'all' || which.has(s.name)) out[s.name] = serviceModel(c, s, rolesOf(s.name));
    }
    return out;
  });

  app.get('/hub/api/services/:name', async (req: FastifyRequest<{ Params: { name: string } }>) => {
    const c = await apiCaller(ctx, req, xsrf);
    const name = req.params.name;
    if (!SERVICE_NAME_RE.test(name)) throw new HubError('INVALID_NAME', 'invalid service name');
    const target = { service: name };
    if (
      !['read:services', 'read:services:name', 'read:roles:services'].some((s) =>
        hasScope(c.scopes, s, target),
      )
    ) {
      throw new HubError('FORBIDDEN', 'action requires the scope read:services');
    }
    const s = ctx.roles.service(name);
    if (!s) throw new HubError('NOT_FOUND', `no such service: ${name}`);
    return serviceModel(c, s, rolesOf(name));
  });
};

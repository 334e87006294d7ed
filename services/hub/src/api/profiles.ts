/**
 * Image profiles (Berth extension, docs/api.md): admins list, add, change, retire and restore profiles and
 * read their versions (`admin:profiles`); everyone reads the profiles they may start (`read:profiles`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../auth/identity.ts';
import { hasScope } from '../authz/scopes.ts';
import type { ImageProbe, ProfileVersion } from '../db/profiles-repo.ts';
import { HubError } from '../errors.ts';
import { apiIdentity } from '../http/auth.ts';
import type { RouteModule } from '../http/route-deps.ts';
import { mayUse } from '../profiles/service.ts';
import { PROFILE_NAME_RE } from '../profiles/spec.ts';

type Req = FastifyRequest<{
  Params: { name?: string; version?: string };
  Querystring: { include_retired?: string };
  Body: unknown;
}>;

const iso = (d: Date) => new Date(d).toISOString();

function probeModel(p: ImageProbe | undefined) {
  if (!p) return null;
  return {
    status: p.status,
    jupyterhub_version: p.jupyterhubVersion,
    image_id: p.imageId,
    detail: p.detail,
    probed_at: iso(p.probedAt),
  };
}

/** A profile version as the API shows it; users see neither its environment nor who changed it. */
export function profileModel(
  v: ProfileVersion,
  o: { admin: boolean; isDefault: boolean; probe?: ImageProbe },
) {
  const { environment, groups, ...spec } = v.spec;
  return {
    name: v.name,
    version: v.version,
    ...spec,
    ...(o.admin ? { environment, groups, source: v.source, author: v.author } : {}),
    retired: v.retired,
    default: o.isDefault,
    created: iso(v.created),
    image_probe: probeModel(o.probe),
  };
}

function checkName(name: string | undefined): string {
  if (!name || !PROFILE_NAME_RE.test(name)) throw new HubError('INVALID_NAME', 'not a valid profile name');
  return name;
}

export const profilesRoutes: RouteModule = (app, { ctx, xsrf }) => {
  const profiles = () => ctx.profiles;

  /** The caller, and whether they administer profiles; 403 without even read:profiles. */
  async function caller(req: Req, needAdmin: boolean): Promise<{ id: Identity; admin: boolean }> {
    const id = await apiIdentity(ctx, req, xsrf);
    const admin = hasScope(id.scopes, 'admin:profiles');
    if (needAdmin && !admin) throw new HubError('FORBIDDEN', 'action requires the scope admin:profiles');
    if (!admin && !hasScope(id.scopes, 'read:profiles', { user: id.user.name })) {
      throw new HubError('FORBIDDEN', 'action requires the scope read:profiles');
    }
    return { id, admin };
  }

  async function models(versions: readonly ProfileVersion[], admin: boolean) {
    const probes = await profiles().probes([...new Set(versions.map((v) => v.spec.image))]);
    return versions.map((v) =>
      profileModel(v, {
        admin,
        isDefault: v.name === profiles().defaultName,
        ...(probes.has(v.spec.image) ? { probe: probes.get(v.spec.image) as ImageProbe } : {}),
      }),
    );
  }

  const one = async (v: ProfileVersion, admin: boolean) => (await models([v], admin))[0];
  const author = (id: Identity) => ({ source: 'api' as const, author: id.user.name });

  app.get('/hub/api/profiles', async (req: Req) => {
    const { id, admin } = await caller(req, false);
    const all = await profiles().list();
    const withRetired = admin && req.query.include_retired === '1';
    const visible = admin
      ? all.filter((v) => withRetired || !v.retired)
      : all.filter((v) => !v.retired && mayUse(v.spec, id.user));
    return models(visible, admin);
  });

  app.get('/hub/api/profiles/:name', async (req: Req) => {
    const { id, admin } = await caller(req, false);
    const name = checkName(req.params.name);
    const v = await profiles()
      .get(name)
      .catch((err: unknown) => {
        if (err instanceof HubError && err.code === 'PROFILE_NOT_FOUND') return undefined;
        throw err;
      });
    // A profile a user may not start does not exist for them.
    if (!v || (!admin && (v.retired || !mayUse(v.spec, id.user)))) {
      throw new HubError('PROFILE_NOT_FOUND', `no such profile: ${name}`);
    }
    return one(v, admin);
  });

  app.get('/hub/api/profiles/:name/versions', async (req: Req) => {
    await caller(req, true);
    return models(await profiles().history(checkName(req.params.name)), true);
  });

  app.get('/hub/api/profiles/:name/versions/:version', async (req: Req) => {
    await caller(req, true);
    const name = checkName(req.params.name);
    const n = Number(req.params.version);
    const history = await profiles().history(name);
    const v = Number.isSafeInteger(n) ? history.find((h) => h.version === n) : undefined;
    if (!v) throw new HubError('NOT_FOUND', `profile ${name} has no version ${req.params.version}`);
    return one(v, true);
  });

  app.post('/hub/api/profiles', async (req: Req, reply: FastifyReply) => {
    const { id } = await caller(req, true);
    const made = await profiles().create(req.body, author(id));
    return reply.code(201).send(await one(made, true));
  });

  app.patch('/hub/api/profiles/:name', async (req: Req) => {
    const { id } = await caller(req, true);
    const name = checkName(req.params.name);
    // If-Match: the version the admin edited; a newer one answers 409 instead of being overwritten.
    const ifMatch = req.headers['if-match'];
    const expected = ifMatch === undefined ? undefined : Number(String(ifMatch).replace(/"/g, ''));
    if (expected !== undefined && !Number.isSafeInteger(expected)) {
      throw new HubError('BAD_REQUEST', 'If-Match must be a profile version number');
    }
    return one(await profiles().update(name, req.body, author(id), expected), true);
  });

  // Profiles are never deleted: DELETE retires (a new version); running servers keep their version.
  app.delete('/hub/api/profiles/:name', async (req: Req) => {
    const { id } = await caller(req, true);
    return one(await profiles().retire(checkName(req.params.name), author(id)), true);
  });

  app.post('/hub/api/profiles/:name/restore', async (req: Req) => {
    const { id } = await caller(req, true);
    return one(await profiles().restore(checkName(req.params.name), author(id)), true);
  });

  app.post('/hub/api/profiles/:name/probe', async (req: Req, reply: FastifyReply) => {
    await caller(req, true);
    const v = await profiles().get(checkName(req.params.name));
    void profiles().probe(v.spec.image);
    return reply.code(202).send();
  });
};

/**
 * Which audit action a state-changing REST API call is, from its route pattern. Calls that only report
 * activity, the OAuth2 endpoints and reads are not audited here (logins, logouts and server access are
 * recorded where they happen).
 */
export interface ApiAction {
  readonly action: string;
  readonly targetUser: string | null;
  readonly target: string | null;
}

const VERB: Readonly<Record<string, string>> = {
  POST: 'create',
  PUT: 'update',
  PATCH: 'update',
  DELETE: 'delete',
};
const SKIP = new Set(['oauth2', 'audit', 'usage', 'authorizations']);

function singular(resource: string): string {
  return resource.endsWith('s') ? resource.slice(0, -1) : resource;
}

export function apiAction(
  method: string,
  routeUrl: string | undefined,
  params: Readonly<Record<string, string | undefined>>,
): ApiAction | undefined {
  const verb = VERB[method];
  if (!verb || !routeUrl?.startsWith('/hub/api/')) return undefined;
  const parts = routeUrl.slice('/hub/api/'.length).split('/').filter(Boolean);
  const [resource, , sub, , more] = parts;
  if (!resource || SKIP.has(resource)) return undefined;
  const p = (seg: string | undefined) => (seg?.startsWith(':') ? params[seg.slice(1)] : undefined);
  if (resource === 'users') {
    const user = p(parts[1]) ?? null;
    if (sub === 'activity') return undefined;
    if (sub === 'server' || sub === 'servers') {
      const server = sub === 'server' ? '' : (p(parts[3]) ?? '');
      const tail = sub === 'server' ? parts[3] : more;
      if (tail === 'progress') return undefined;
      const action =
        method === 'POST' ? 'server.start' : method === 'DELETE' ? 'server.stop' : 'server.update';
      return { action, targetUser: user, target: `server ${user}/${server}` };
    }
    if (sub === 'tokens') {
      const action =
        method === 'POST' ? 'token.create' : method === 'DELETE' ? 'token.delete' : 'token.update';
      const id = p(parts[3]);
      return { action, targetUser: user, target: id ? `token ${id}` : null };
    }
    if (sub) return { action: `user.${sub}.${verb}`, targetUser: user, target: null };
    return { action: `user.${verb}`, targetUser: user, target: user ? `user ${user}` : null };
  }
  const name = p(parts[1]);
  const kind = singular(resource);
  if (sub) {
    const action =
      resource === 'groups' && sub === 'users'
        ? `group.members.${method === 'DELETE' ? 'remove' : 'add'}`
        : `${kind}.${sub}.${verb}`;
    return { action, targetUser: null, target: name ? `${kind} ${name}` : null };
  }
  if (resource === 'shutdown') return { action: 'hub.shutdown', targetUser: null, target: null };
  if (resource === 'proxy')
    return { action: method === 'POST' ? 'proxy.sync' : 'proxy.update', targetUser: null, target: null };
  return { action: `${kind}.${verb}`, targetUser: null, target: name ? `${kind} ${name}` : null };
}

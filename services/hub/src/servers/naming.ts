/** URL and OAuth names of a server, shared by the lifecycle, the OAuth provider and the API. */
export function serverPrefix(user: string, serverName: string): string {
  const base = `/user/${encodeURIComponent(user)}/`;
  return serverName ? `${base}${encodeURIComponent(serverName)}/` : base;
}

export function oauthClientId(user: string, serverName: string): string {
  return encodeURIComponent(serverName ? `jupyterhub-user-${user}-${serverName}` : `jupyterhub-user-${user}`);
}

/** `access:servers!server=<user>/<server>` */
export function accessScope(user: string, serverName: string): string {
  return `access:servers!server=${user}/${serverName}`;
}

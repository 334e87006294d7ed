import type { AdminSection } from './admin-nav.ts';
import { serverPath, when, xsrfField } from './format.ts';
import { type Html, html } from './html.ts';
import { layout, type Viewer } from './pages.ts';

/** An admin page: the section menu, then the content. */
export function adminLayout(
  title: string,
  viewer: Viewer,
  xsrf: string,
  sections: readonly AdminSection[],
  here: string,
  body: Html,
): string {
  return layout(
    title,
    html`<nav class="subnav" aria-label="Admin">${sections.map((s) =>
      s.href === here
        ? html`<a href="${s.href}" aria-current="page">${s.label}</a>`
        : html`<a href="${s.href}">${s.label}</a>`,
    )}</nav>
<p id="flash" class="error" hidden tabindex="-1"></p>
${body}`,
    viewer,
    xsrf,
    { current: 'admin', wide: true },
  );
}

const api = (user: string) => `/hub/api/users/${encodeURIComponent(user)}`;

export interface AdminUserRow {
  readonly name: string;
  readonly admin: boolean;
  /** Blocked by an admin or BERTH_BLOCKED_USERS. */
  readonly blocked: boolean;
  readonly groups: readonly string[];
  readonly created: Date;
  readonly lastActivity: Date | null;
  readonly running: number;
}

export interface UsersPageData {
  readonly users: readonly AdminUserRow[];
  readonly q: string;
  readonly offset: number;
  readonly limit: number;
  readonly total: number;
  /** May add, delete and change users (admin:users). */
  readonly canManage: boolean;
  /** May grant admin (an admin with unfiltered admin:users). */
  readonly canGrantAdmin: boolean;
  /** What deleting a user does to their home volumes (BERTH_VOLUME_ON_USER_DELETE). */
  readonly volumePolicy: 'archive' | 'delete' | 'keep';
}

function pager(base: string, q: string, offset: number, limit: number, total: number): Html {
  const link = (o: number) => `${base}?${new URLSearchParams({ ...(q ? { q } : {}), offset: String(o) })}`;
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(offset + limit, total);
  return html`<nav class="pager" aria-label="Pages"><span>${from}–${to} of ${total}</span>
  ${offset > 0 ? html`<a href="${link(Math.max(0, offset - limit))}" rel="prev">Previous</a>` : ''}
  ${to < total ? html`<a href="${link(offset + limit)}" rel="next">Next</a>` : ''}</nav>`;
}

/** The home volumes' fate for one deletion (`?volumes=`), the configured policy chosen by default. */
function volumeChoice(policy: UsersPageData['volumePolicy'], user: string): Html {
  const options = [
    ['archive', 'Archive their home volumes'],
    ['delete', 'Delete their home volumes'],
    ['keep', 'Keep their home volumes'],
  ] as const;
  return html`<fieldset class="volume-choice"><legend>Home volumes<span class="sr-only"> of ${user}</span></legend>
        ${options.map(
          ([v, label]) =>
            html`<div class="check"><input type="radio" id="vol-${v}-${user}" name="volumes" value="${v}"${v === policy ? html` checked` : ''}><label for="vol-${v}-${user}">${label}${v === policy ? ' (the default)' : ''}</label></div>`,
        )}</fieldset>`;
}

function userRow(d: UsersPageData, xsrf: string, u: AdminUserRow, self: string): Html {
  const x = xsrfField(xsrf);
  return html`<tr data-user="${u.name}">
  <th scope="row">${u.name}${u.admin ? html` <span class="badge">admin</span>` : ''}${u.blocked ? html` <span class="badge badge-blocked">blocked</span>` : ''}</th>
  <td data-label="Groups">${u.groups.length ? u.groups.join(', ') : html`<span class="muted">—</span>`}</td>
  <td data-label="Servers">${u.running}</td>
  <td data-label="Last activity">${when(u.lastActivity)}</td>
  <td class="row-actions">${
    d.canGrantAdmin && u.name !== self
      ? html`<form data-api="${api(u.name)}" data-method="PATCH" class="inline">${x}<input type="hidden" name="admin" value="${u.admin ? 'false' : 'true'}" data-type="boolean"><button type="submit" class="secondary">${u.admin ? 'Remove admin' : 'Make admin'}<span class="sr-only"> ${u.name}</span></button></form>`
      : ''
  }${
    d.canGrantAdmin && u.name !== self
      ? html`<form data-api="${api(u.name)}" data-method="PATCH" class="inline block-user">${x}<input type="hidden" name="blocked" value="${u.blocked ? 'false' : 'true'}" data-type="boolean"><button type="submit" class="secondary">${u.blocked ? 'Unblock' : 'Block'}<span class="sr-only"> ${u.name}</span></button><span class="form-error" hidden tabindex="-1"></span></form>`
      : ''
  }${
    d.canManage && u.name !== self
      ? html`<details class="inline-details"><summary>Delete<span class="sr-only"> ${u.name}</span></summary>
      <form data-api="${api(u.name)}" data-method="DELETE" data-body="none" data-query-fields="volumes" class="confirm">${x}
        <p>Delete <strong>${u.name}</strong>? Their servers stop and their tokens end.</p>
        ${volumeChoice(d.volumePolicy, u.name)}
        <button type="submit" class="danger">Delete ${u.name}</button><span class="form-error" hidden tabindex="-1"></span>
      </form></details>`
      : ''
  }</td>
</tr>`;
}

export function usersAdminPage(
  viewer: Viewer,
  xsrf: string,
  sections: readonly AdminSection[],
  d: UsersPageData,
): string {
  return adminLayout(
    'Users',
    viewer,
    xsrf,
    sections,
    '/hub/admin/users',
    html`<section class="card" aria-labelledby="users-h">
  <h1 id="users-h">Users</h1>
  <form method="get" action="/hub/admin/users" role="search" class="search">
    <label for="q">Search by name</label>
    <div class="inline-field"><input id="q" name="q" type="search" value="${d.q}" maxlength="64"><button type="submit">Search</button></div>
  </form>
  <div class="table-wrap"><table class="stack">
    <thead><tr><th scope="col">Name</th><th scope="col">Groups</th><th scope="col">Servers</th><th scope="col">Last activity</th><th scope="col">Actions</th></tr></thead>
    <tbody>${d.users.length ? d.users.map((u) => userRow(d, xsrf, u, viewer.name)) : html`<tr><td colspan="5" class="muted">No users match.</td></tr>`}</tbody>
  </table></div>
  ${pager('/hub/admin/users', d.q, d.offset, d.limit, d.total)}
</section>
${
  d.canManage
    ? html`<section class="card" aria-labelledby="add-h">
  <h2 id="add-h">Add users</h2>
  <form data-api="/hub/api/users" data-method="POST" class="stack">
    ${xsrfField(xsrf)}
    <label for="usernames">User names</label>
    <textarea id="usernames" name="usernames" data-type="list" rows="3" required aria-describedby="usernames-help"></textarea>
    <p id="usernames-help" class="help">One or more, separated by spaces, commas or new lines. They sign in through the hub's authenticator.</p>
    ${d.canGrantAdmin ? html`<div class="check"><input type="checkbox" id="new-admin" name="admin" value="true" data-type="boolean"><label for="new-admin">Make them admins</label></div>` : ''}
    <p class="form-error error" hidden tabindex="-1"></p>
    <button type="submit">Add users</button>
  </form>
</section>`
    : ''
}`,
  );
}

export interface AdminServerRow {
  readonly user: string;
  readonly name: string;
  readonly state: 'running' | 'pending' | 'stopping' | 'stopped';
  readonly profile: string | null;
  readonly started: Date | null;
  readonly lastActivity: Date | null;
  readonly canStart: boolean;
  readonly canStop: boolean;
}

function serverApi(user: string, name: string): string {
  return name ? `${api(user)}/servers/${encodeURIComponent(name)}` : `${api(user)}/server`;
}

function adminServerRow(xsrf: string, s: AdminServerRow): Html {
  const x = xsrfField(xsrf);
  const label = html`<span class="sr-only"> ${s.user}${s.name ? `/${s.name}` : ''}</span>`;
  return html`<tr data-server="${s.user}/${s.name}">
  <th scope="row">${s.user}</th>
  <td data-label="Server">${s.name || html`<span class="muted">default</span>`}</td>
  <td data-label="Status"><span class="state state-${s.state}">${s.state}</span></td>
  <td data-label="Profile">${s.profile ?? html`<span class="muted">—</span>`}</td>
  <td data-label="Started">${s.started ? when(s.started) : html`<span class="muted">—</span>`}</td>
  <td data-label="Last activity">${s.lastActivity ? when(s.lastActivity) : html`<span class="muted">—</span>`}</td>
  <td class="row-actions">${
    s.state === 'stopped'
      ? s.canStart
        ? html`<form data-api="${serverApi(s.user, s.name)}" data-method="POST" data-body="none" class="inline start-server">${x}<button type="submit">Start${label}</button></form>`
        : ''
      : s.canStop
        ? html`${s.state === 'running' ? html`<a class="button secondary" href="/user/${serverPath(s.user, s.name)}/">Open${label}</a>` : ''}<form data-api="${serverApi(s.user, s.name)}" data-method="DELETE" data-body="none" class="inline stop-server">${x}<button type="submit" class="secondary">Stop${label}</button></form>`
        : ''
  }</td>
</tr>`;
}

export function serversAdminPage(
  viewer: Viewer,
  xsrf: string,
  sections: readonly AdminSection[],
  d: { servers: readonly AdminServerRow[]; offset: number; limit: number; total: number; q: string },
): string {
  const running = d.servers.filter((s) => s.state !== 'stopped' && s.canStop).length;
  const stopped = d.servers.filter((s) => s.state === 'stopped' && s.canStart).length;
  return adminLayout(
    'Servers',
    viewer,
    xsrf,
    sections,
    '/hub/admin/servers',
    html`<section class="card" aria-labelledby="servers-h">
  <h1 id="servers-h">Servers</h1>
  <form method="get" action="/hub/admin/servers" role="search" class="search">
    <label for="q">Search by user name</label>
    <div class="inline-field"><input id="q" name="q" type="search" value="${d.q}" maxlength="64"><button type="submit">Search</button>${d.q ? html`<a href="/hub/admin/servers">Show all users</a>` : ''}</div>
  </form>
  <div class="actions toolbar">
    <button type="button" data-bulk="form.start-server"${stopped ? '' : html` disabled`}>Start all (${stopped})</button>
    <button type="button" class="secondary" data-bulk="form.stop-server"${running ? '' : html` disabled`}>Stop all (${running})</button>
  </div>
  <div class="table-wrap"><table class="stack">
    <thead><tr><th scope="col">User</th><th scope="col">Server</th><th scope="col">Status</th><th scope="col">Profile</th><th scope="col">Started</th><th scope="col">Last activity</th><th scope="col">Actions</th></tr></thead>
    <tbody>${d.servers.length ? d.servers.map((s) => adminServerRow(xsrf, s)) : html`<tr><td colspan="7" class="muted">No servers.</td></tr>`}</tbody>
  </table></div>
  ${pager('/hub/admin/servers', d.q, d.offset, d.limit, d.total)}
  <p class="help">${d.q ? html`Only users whose name matches “${d.q}” are shown. ` : ''}Each listed user's default server is shown, running or not, with their running named servers. “Start all” and “Stop all” act on this page's servers.</p>
</section>`,
  );
}

export function announcementPage(
  viewer: Viewer,
  xsrf: string,
  sections: readonly AdminSection[],
  current: { value: string; updatedBy: string | null; updated: Date } | null,
): string {
  return adminLayout(
    'Announcement',
    viewer,
    xsrf,
    sections,
    '/hub/admin/announcement',
    html`<section class="card" aria-labelledby="ann-h">
  <h1 id="ann-h">Announcement</h1>
  <p>A short message shown to everyone on the sign-in and home pages, e.g. planned maintenance. It takes effect at once; an empty message removes it.</p>
  ${current ? html`<p class="muted">Set by ${current.updatedBy ?? 'unknown'} at ${when(current.updated)}.</p>` : ''}
  <form data-api="/hub/api/announcement" data-method="PUT" class="stack">
    ${xsrfField(xsrf)}
    <label for="announcement">Message</label>
    <textarea id="announcement" name="message" rows="3" maxlength="500" data-keep-empty>${current?.value ?? ''}</textarea>
    <p class="form-error error" hidden tabindex="-1"></p>
    <button type="submit">Save</button>
  </form>
</section>`,
  );
}

export function adminIndexPage(viewer: Viewer, xsrf: string, sections: readonly AdminSection[]): string {
  return adminLayout(
    'Admin',
    viewer,
    xsrf,
    sections,
    '/hub/admin',
    html`<section class="card"><h1>Admin</h1><ul>${sections.map((s) => html`<li><a href="${s.href}">${s.label}</a></li>`)}</ul></section>`,
  );
}

export interface AdminGroupRow {
  readonly name: string;
  readonly members: readonly string[];
}

function groupRow(xsrf: string, g: AdminGroupRow, canManage: boolean): Html {
  const x = xsrfField(xsrf);
  const base = `/hub/api/groups/${encodeURIComponent(g.name)}`;
  return html`<tr data-group="${g.name}">
  <th scope="row">${g.name}</th>
  <td class="wide" data-label="Members"><ul class="members">${
    g.members.length
      ? g.members.map(
          (m) =>
            html`<li>${m}${
              canManage
                ? html` <form data-api="${base}/users" data-method="DELETE" class="inline">${x}<input type="hidden" name="users" value="${m}" data-type="list"><button type="submit" class="link" aria-label="Remove ${m} from ${g.name}">remove</button></form>`
                : ''
            }</li>`,
        )
      : html`<li class="muted">no members</li>`
  }</ul></td>
  <td class="row-actions">${
    canManage
      ? html`<form data-api="${base}/users" data-method="POST" class="inline-field add-member">${x}<label class="sr-only" for="add-${g.name}">Add a member to ${g.name}</label><input id="add-${g.name}" name="users" data-type="list" placeholder="user name" required maxlength="64" autocapitalize="none"><button type="submit" class="secondary">Add</button><span class="form-error" hidden tabindex="-1"></span></form>
    <form data-api="${base}" data-method="DELETE" data-body="none" class="inline">${x}<button type="submit" class="danger">Delete group<span class="sr-only"> ${g.name}</span></button></form>`
      : ''
  }</td>
</tr>`;
}

export function groupsAdminPage(
  viewer: Viewer,
  xsrf: string,
  sections: readonly AdminSection[],
  d: { groups: readonly AdminGroupRow[]; offset: number; limit: number; total: number; canManage: boolean },
): string {
  return adminLayout(
    'Groups',
    viewer,
    xsrf,
    sections,
    '/hub/admin/groups',
    html`<section class="card" aria-labelledby="groups-h">
  <h1 id="groups-h">Groups</h1>
  <div class="table-wrap"><table class="stack">
    <thead><tr><th scope="col">Group</th><th scope="col">Members</th><th scope="col">Actions</th></tr></thead>
    <tbody>${d.groups.length ? d.groups.map((g) => groupRow(xsrf, g, d.canManage)) : html`<tr><td colspan="3" class="muted">No groups yet.</td></tr>`}</tbody>
  </table></div>
  ${pager('/hub/admin/groups', '', d.offset, d.limit, d.total)}
  <p class="help">Groups from LDAP or OIDC are set again at each login of their members.</p>
</section>
${
  d.canManage
    ? html`<section class="card" aria-labelledby="new-group-h">
  <h2 id="new-group-h">New group</h2>
  <form data-api="/hub/api/groups/" data-url-field="name" data-method="POST" class="stack">
    ${xsrfField(xsrf)}
    <label for="group-name">Name</label>
    <input id="group-name" name="name" required maxlength="255" autocapitalize="none">
    <label for="group-users">Members <span class="muted">(optional)</span></label>
    <input id="group-users" name="users" data-type="list" autocapitalize="none" aria-describedby="group-users-help">
    <p id="group-users-help" class="help">User names separated by spaces or commas.</p>
    <p class="form-error error" hidden tabindex="-1"></p>
    <button type="submit">Create group</button>
  </form>
</section>`
    : ''
}`,
  );
}

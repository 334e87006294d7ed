import { serverPath, when, xsrfField } from './format.ts';
import { type Html, html } from './html.ts';
import { layout, type Viewer } from './pages.ts';

type VolumePolicy = 'archive' | 'delete' | 'keep';

export type ServerStatus = 'running' | 'pending' | 'stopping' | 'stopped';

export interface HomeServer {
  /** '' for the default server. */
  readonly name: string;
  readonly state: ServerStatus;
  /** The server's public path, e.g. /user/alice/. */
  readonly url: string;
  readonly profile: string | null;
  readonly started: Date | null;
  readonly lastActivity: Date | null;
  readonly failure?: { readonly message: string; readonly logs?: string };
  /** Idle culling: when this server will be stopped unless used, or why it was stopped. */
  readonly cull?: {
    readonly warning?: { readonly cullAt: Date; readonly reason: 'idle' | 'max-age' };
    readonly notice?: string;
  };
}

export interface HomeOptions {
  readonly servers: readonly HomeServer[];
  /** Named servers are enabled (servers per user may be more than one). */
  readonly namedServers: boolean;
  /** Admins hold access:servers, so they may open this user's servers (JupyterHub's admin_access). */
  readonly adminAccess: boolean;
  /** Profiles exist: starting goes through the picker. */
  readonly picker: boolean;
  /** What deleting a named server does to its home volume by default (BERTH_VOLUME_ON_USER_DELETE). */
  readonly volumePolicy: VolumePolicy;
  readonly banner?: string | null;
}

const LABEL: Record<ServerStatus, string> = {
  running: 'running',
  pending: 'starting',
  stopping: 'stopping',
  stopped: 'stopped',
};

/** What happens to a deleted named server's home volume, the configured policy chosen by default. */
function volumeChoice(policy: VolumePolicy, server: string): Html {
  const options = [
    ['archive', 'Archive its home volume'],
    ['delete', 'Delete its home volume and its files'],
    ['keep', 'Keep its home volume (a new server of this name gets the files back)'],
  ] as const;
  return html`<fieldset class="volume-choice"><legend>Home volume<span class="sr-only"> of ${server}</span></legend>
        ${options.map(
          ([v, label]) =>
            html`<div class="check"><input type="radio" id="vol-${v}-${server}" name="volumes" value="${v}"${v === policy ? html` checked` : ''}><label for="vol-${v}-${server}">${label}${v === policy ? ' (the default)' : ''}</label></div>`,
        )}</fieldset>`;
}

/** Delete a named server for good (stopped first if it runs), with the choice of what happens to its volume. */
function deleteForm(xsrf: string, s: HomeServer, policy: VolumePolicy): Html {
  return html`<details class="inline-details"><summary>Delete<span class="sr-only"> ${s.name}</span></summary>
      <form method="post" action="/hub/delete-server" class="confirm">${xsrfField(xsrf)}<input type="hidden" name="server_name" value="${s.name}">
        <p>Delete the server <strong>${s.name}</strong>?${s.state === 'running' ? ' It is stopped first.' : ''}</p>
        ${volumeChoice(policy, s.name)}
        <button type="submit" class="danger">Delete ${s.name}</button>
      </form></details>`;
}

function actions(viewer: Viewer, xsrf: string, s: HomeServer, o: HomeOptions): Html {
  const named = s.name !== '';
  const label = named ? html` <span class="sr-only">${s.name}</span>` : '';
  const serverField = html`<input type="hidden" name="server_name" value="${s.name}">`;
  const stop = html`<form method="post" action="/hub/stop" class="inline">${xsrfField(xsrf)}${serverField}<button type="submit" class="secondary">Stop${label}</button></form>`;
  const del = named ? deleteForm(xsrf, s, o.volumePolicy) : '';
  if (s.state === 'running') {
    return html`<a class="button" href="${s.url}">Open${label}</a>${stop}${del}`;
  }
  if (s.state === 'pending') {
    return html`<a class="button" href="/hub/spawn-pending/${serverPath(viewer.name, s.name)}">Starting…${label}</a>${stop}`;
  }
  if (s.state === 'stopping') return html`<span class="muted">Stopping…</span>`;
  const start = o.picker
    ? html`<a class="button" href="/hub/spawn/${serverPath(viewer.name, s.name)}">Start${named ? label : html` my server`}</a>`
    : html`<form method="post" action="/hub/spawn" class="inline">${xsrfField(xsrf)}${serverField}<button type="submit">Start${named ? label : html` my server`}</button></form>`;
  return html`${start}${del}`;
}

function serverRow(viewer: Viewer, xsrf: string, s: HomeServer, o: HomeOptions): Html {
  return html`<tr data-server="${s.name}">
  <th scope="row">${s.name ? s.name : html`<span>Default</span>`}</th>
  <td data-label="Status"><span class="state state-${s.state}">${LABEL[s.state]}</span></td>
  <td data-label="Profile">${s.profile ?? html`<span class="muted">—</span>`}</td>
  <td data-label="Started">${s.started ? when(s.started) : html`<span class="muted">—</span>`}</td>
  <td data-label="Last activity">${s.lastActivity ? when(s.lastActivity) : html`<span class="muted">—</span>`}</td>
  <td class="row-actions">${actions(viewer, xsrf, s, o)}</td>
</tr>`;
}

function failureBox(s: HomeServer): Html {
  if (!s.failure) return html``;
  return html`<div class="error" role="alert"><p>The last start of ${s.name ? html`the server <strong>${s.name}</strong>` : 'your server'} failed: ${s.failure.message}</p>${
    s.failure.logs
      ? html`<details open><summary>Last lines of the server's log</summary><pre>${s.failure.logs}</pre></details>`
      : ''
  }</div>`;
}

function cullBox(s: HomeServer): Html {
  const which = s.name ? html`The server <strong>${s.name}</strong>` : 'Your server';
  const w = s.cull?.warning;
  if (w) {
    const why = w.reason === 'idle' ? 'it has been idle' : 'it reached the maximum run time';
    return html`<div class="warning" role="status" data-cull-warning="${s.name}"><p>${which} will be stopped at ${when(w.cullAt)} because ${why}. ${w.reason === 'idle' ? 'Use it (or run something) to keep it. ' : ''}Your files are kept.</p></div>`;
  }
  return s.cull?.notice
    ? html`<div class="notice" role="status" data-cull-notice="${s.name}"><p>${s.cull.notice}</p></div>`
    : html``;
}

export function homePage(viewer: Viewer, xsrf: string, o: HomeOptions): string {
  const def = o.servers.find((s) => s.name === '');
  return layout(
    'Home',
    html`<section class="card" aria-labelledby="servers-h">
  <h1 id="servers-h">Your servers</h1>
  ${o.servers.map(failureBox)}
  ${o.servers.map(cullBox)}
  ${
    def && o.servers.length === 1 && !o.namedServers
      ? html`<p>Status: <strong class="state state-${def.state}">${LABEL[def.state]}</strong>${def.profile ? html` · profile ${def.profile}` : ''}${def.started ? html` · started ${when(def.started)}` : ''}${def.lastActivity ? html` · last activity ${when(def.lastActivity)}` : ''}</p>
  <div class="actions">${actions(viewer, xsrf, def, o)}</div>`
      : html`<div class="table-wrap"><table class="servers">
  <caption class="sr-only">Your servers</caption>
  <thead><tr><th scope="col">Server</th><th scope="col">Status</th><th scope="col">Profile</th><th scope="col">Started</th><th scope="col">Last activity</th><th scope="col">Actions</th></tr></thead>
  <tbody>${o.servers.map((s) => serverRow(viewer, xsrf, s, o))}</tbody>
</table></div>`
  }
  ${
    o.namedServers
      ? html`<form method="${o.picker ? 'get' : 'post'}" action="/hub/spawn" class="new-server">
    ${o.picker ? '' : xsrfField(xsrf)}
    <label for="server_name">New named server</label>
    <div class="inline-field"><input id="server_name" name="server_name" required maxlength="63" pattern="[a-z0-9][a-z0-9_.\\-]{0,62}" autocapitalize="none" aria-describedby="server_name_help"><button type="submit">Create</button></div>
    <p id="server_name_help" class="help">Lowercase letters, digits, “.”, “_” and “-”. A stopped named server stays in this list, with its files in its home volume, until you delete it.</p>
  </form>`
      : ''
  }
</section>
${
  o.adminAccess
    ? html`<aside class="notice" aria-label="Privacy notice"><p><strong>Note:</strong> administrators of this hub can open your running servers and see your files.</p></aside>`
    : ''
}`,
    viewer,
    xsrf,
    { banner: o.banner ?? null, current: 'home' },
  );
}

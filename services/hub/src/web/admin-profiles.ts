import type { ImageProbe, ProfileVersion } from '../db/profiles-repo.ts';
import type { AdminSection } from './admin-nav.ts';
import { adminLayout } from './admin-pages.ts';
import { when, xsrfField } from './format.ts';
import { type Html, html } from './html.ts';
import type { Viewer } from './pages.ts';

export interface AdminProfileRow {
  readonly version: ProfileVersion;
  readonly probe: ImageProbe | undefined;
  readonly isDefault: boolean;
}

const GiB = 1024 ** 3;
const mem = (b: number) => (b >= GiB ? `${Number((b / GiB).toFixed(1))}G` : `${Math.round(b / 1024 ** 2)}M`);

/** `repo@sha256:abcd…` or `sha256:abcd…`, shortened for the table; the full pin is in the title. */
function shortImage(image: string): Html {
  const at = image.lastIndexOf('sha256:');
  const short = at >= 0 ? `${image.slice(0, at + 7 + 12)}…` : image;
  return html`<code title="${image}">${short}</code>`;
}

/** A probe's result; a compatible image's detail only repeats its version, so the version is said once. */
export function probeCell(p: ImageProbe | undefined): Html {
  if (!p) return html`<span class="muted">not probed</span>`;
  const label = {
    pending: 'probing…',
    compatible: 'compatible',
    incompatible: 'incompatible',
    failed: 'probe failed',
  }[p.status];
  return html`<span class="probe probe-${p.status}">${label}</span>${p.status === 'compatible' && p.jupyterhubVersion ? html` <span class="muted">JupyterHub ${p.jupyterhubVersion}</span>` : ''}${
    p.detail && p.status !== 'compatible' ? html`<br><span class="muted small">${p.detail}</span>` : ''
  }<br><span class="muted small">${when(p.probedAt)}</span>`;
}

function field(id: string, label: string, input: Html, help?: string): Html {
  return html`<div class="field"><label for="${id}">${label}</label>${input}${help ? html`<p class="help">${help}</p>` : ''}</div>`;
}

/** The fields an admin sets; `v` fills them for an edit. */
function specFields(prefix: string, v?: ProfileVersion): Html {
  const s = v?.spec;
  const id = (k: string) => `${prefix}-${k}`;
  return html`<div class="grid-fields">
  ${field(id('display'), 'Display name', html`<input id="${id('display')}" name="display_name" maxlength="100" value="${s?.display_name ?? ''}"${v ? '' : html` required`}>`)}
  ${field(id('image'), 'Image (pinned)', html`<input id="${id('image')}" name="image" maxlength="512" value="${s?.image ?? ''}" autocapitalize="none" spellcheck="false"${v ? '' : html` required`}>`, 'repository@sha256:… or a local image id sha256:…')}
  ${field(id('cpu'), 'CPUs', html`<input id="${id('cpu')}" name="cpu" type="number" min="0.001" step="0.001" value="${s ? String(s.cpu) : ''}" data-type="number">`)}
  ${field(id('memory'), 'Memory', html`<input id="${id('memory')}" name="memory" maxlength="20" value="${s ? mem(s.memory) : ''}" placeholder="e.g. 2G">`)}
  ${field(id('gpus'), 'GPUs', html`<input id="${id('gpus')}" name="gpus" type="number" min="0" max="64" step="1" value="${s ? String(s.gpus) : ''}" data-type="integer">`)}
  ${field(id('groups'), 'Groups allowed', html`<input id="${id('groups')}" name="groups" value="${s?.groups.join(', ') ?? ''}" data-type="list" data-keep-empty>`, 'Empty: everyone.')}
</div>
${field(id('description'), 'Description', html`<textarea id="${id('description')}" name="description" rows="2" maxlength="2000">${s?.description ?? ''}</textarea>`)}
<div class="check"><input type="checkbox" id="${id('internet')}" name="internet" data-type="boolean"${s?.internet ? html` checked` : ''}><label for="${id('internet')}">Internet access from the server</label></div>`;
}

function profileRow(xsrf: string, r: AdminProfileRow): Html {
  const v = r.version;
  const s = v.spec;
  const api = `/hub/api/profiles/${encodeURIComponent(v.name)}`;
  const x = xsrfField(xsrf);
  return html`<tr data-profile="${v.name}"${v.retired ? html` class="retired"` : ''}>
  <th scope="row">${s.display_name}<br><span class="muted small">${v.name} · v${v.version}</span>${r.isDefault ? html` <span class="badge">default</span>` : ''}${v.retired ? html` <span class="badge badge-off">retired</span>` : ''}</th>
  <td data-label="Image">${shortImage(s.image)}</td>
  <td class="wide" data-label="Resources">${Number(s.cpu.toFixed(3))} CPU · ${mem(s.memory)}${s.gpus ? html` · ${s.gpus} GPU` : ''}${s.internet ? html` · internet` : ''}</td>
  <td data-label="Who">${s.groups.length ? s.groups.join(', ') : html`<span class="muted">everyone</span>`}</td>
  <td class="wide" data-label="Probe">${probeCell(r.probe)}</td>
  <td class="row-actions">
    ${
      v.retired
        ? html`<form data-api="${api}/restore" data-method="POST" data-body="none" class="inline">${x}<button type="submit" class="secondary">Restore<span class="sr-only"> ${v.name}</span></button></form>`
        : html`<form data-api="${api}" data-method="DELETE" data-body="none" class="inline">${x}<button type="submit" class="danger">Retire<span class="sr-only"> ${v.name}</span></button></form>`
    }
    <form data-api="${api}/probe" data-method="POST" data-body="none" class="inline">${x}<button type="submit" class="secondary">Probe<span class="sr-only"> ${v.name}</span></button></form>
    <details class="inline-details edit"><summary>Edit<span class="sr-only"> ${v.name}</span></summary>
      <form data-api="${api}" data-method="PATCH" class="stack confirm">${x}${specFields(`edit-${v.name}`, v)}
        <p class="form-error error" hidden tabindex="-1"></p>
        <button type="submit">Save a new version</button></form>
    </details>
  </td>
</tr>`;
}

export function profilesAdminPage(
  viewer: Viewer,
  xsrf: string,
  sections: readonly AdminSection[],
  rows: readonly AdminProfileRow[],
): string {
  return adminLayout(
    'Profiles',
    viewer,
    xsrf,
    sections,
    '/hub/admin/profiles',
    html`<section class="card" aria-labelledby="profiles-h">
  <h1 id="profiles-h">Profiles</h1>
  <p class="help">Every change makes a new version; running servers keep theirs. Retired profiles cannot be started.</p>
  <div class="table-wrap"><table class="profiles-table stack">
    <thead><tr><th scope="col">Profile</th><th scope="col">Image</th><th scope="col">Resources</th><th scope="col">Who</th><th scope="col">Compatibility probe</th><th scope="col">Actions</th></tr></thead>
    <tbody>${rows.length ? rows.map((r) => profileRow(xsrf, r)) : html`<tr><td colspan="6" class="muted">No profiles.</td></tr>`}</tbody>
  </table></div>
</section>
<section class="card" aria-labelledby="new-profile-h">
  <h2 id="new-profile-h">New profile</h2>
  <form data-api="/hub/api/profiles" data-method="POST" class="stack">
    ${xsrfField(xsrf)}
    ${field('new-name', 'Name', html`<input id="new-name" name="name" required maxlength="63" pattern="[a-z0-9][a-z0-9_\\-]{0,62}" autocapitalize="none">`, 'Lowercase letters, digits, - and _.')}
    ${specFields('new')}
    <p class="form-error error" hidden tabindex="-1"></p>
    <button type="submit">Add profile</button>
  </form>
</section>`,
  );
}

import type { TokenRow } from '../db/schema.ts';
import { when, xsrfField } from './format.ts';
import { type Html, html } from './html.ts';
import { layout, type Viewer } from './pages.ts';

export interface ScopeOption {
  readonly scope: string;
  readonly label: string;
}

/** The scopes a token may be limited to, from what the owner holds (a token never exceeds its owner). */
export function scopeOptions(user: { name: string; admin: boolean }): ScopeOption[] {
  const u = user.name;
  const mine: ScopeOption[] = [
    { scope: `read:users!user=${u}`, label: 'Read your user model' },
    { scope: `servers!user=${u}`, label: 'Start and stop your servers' },
    { scope: `access:servers!user=${u}`, label: 'Open your servers (e.g. their REST API)' },
    { scope: `read:tokens!user=${u}`, label: 'List your tokens' },
  ];
  if (!user.admin) return mine;
  return [
    ...mine,
    { scope: 'read:users', label: 'Read all users (admin)' },
    { scope: 'admin:servers', label: 'Manage all servers (admin)' },
    { scope: 'admin:users', label: 'Manage all users (admin)' },
  ];
}

const EXPIRY: readonly [string, string][] = [
  ['', 'Never'],
  ['3600', '1 hour'],
  ['86400', '1 day'],
  ['604800', '7 days'],
  ['2592000', '30 days'],
  ['31536000', '1 year'],
];

function tokenRow(viewer: Viewer, xsrf: string, t: TokenRow): Html {
  const id = `a${t.id}`;
  const label = t.note ?? (t.kind === 'oauth' ? `OAuth: ${t.oauth_client_id ?? ''}` : 'API token');
  return html`<tr data-token="${id}">
  <th scope="row">${label}</th>
  <td data-label="Kind">${t.kind === 'oauth' ? 'OAuth' : 'API'}</td>
  <td class="scopes wide" data-label="Scopes">${(t.scopes as string[]).length ? (t.scopes as string[]).map((s) => html`<code>${s}</code> `) : html`<span class="muted">none</span>`}</td>
  <td data-label="Created">${when(t.created)}</td>
  <td data-label="Expires">${t.expires_at ? when(t.expires_at) : html`<span class="muted">never</span>`}</td>
  <td data-label="Last used">${when(t.last_activity)}</td>
  <td class="row-actions"><form data-api="/hub/api/users/${encodeURIComponent(viewer.name)}/tokens/${id}" data-method="DELETE" data-body="none" class="inline">${xsrfField(xsrf)}<button type="submit" class="danger">Revoke<span class="sr-only"> ${label}</span></button><span class="form-error" hidden tabindex="-1"></span></form></td>
</tr>`;
}

export function tokensPage(viewer: Viewer, xsrf: string, tokens: readonly TokenRow[]): string {
  const api = `/hub/api/users/${encodeURIComponent(viewer.name)}/tokens`;
  return layout(
    'Tokens',
    html`<section class="card" aria-labelledby="new-token-h">
  <h1 id="new-token-h">New API token</h1>
  <p>A token lets scripts and tools call the hub's REST API as you. It is shown once, right after you create it.</p>
  <form data-api="${api}" data-method="POST" data-result="new-token" class="stack">
    ${xsrfField(xsrf)}
    <label for="note">Note</label>
    <input id="note" name="note" maxlength="1000" placeholder="What is this token for?">
    <label for="expires_in">Expires</label>
    <select id="expires_in" name="expires_in" data-type="integer">
      ${EXPIRY.map(([v, l]) => html`<option value="${v}"${v === '2592000' ? html` selected` : ''}>${l}</option>`)}
    </select>
    <fieldset>
      <legend>Scopes <span class="muted">(none checked: everything you may do)</span></legend>
      ${scopeOptions(viewer).map(
        (o, i) =>
          html`<div class="check"><input type="checkbox" id="scope-${i}" name="scopes" value="${o.scope}" data-type="list"><label for="scope-${i}">${o.label} <code>${o.scope}</code></label></div>`,
      )}
    </fieldset>
    <p class="form-error error" hidden tabindex="-1"></p>
    <button type="submit">Create token</button>
  </form>
  <div id="new-token" class="result" hidden>
    <h2>Your new token</h2>
    <p>Copy it now: it will not be shown again.</p>
    <pre class="token" tabindex="0"><code data-field="token"></code></pre>
    <p>Expires: <span data-field="expires_at" data-format="when"></span> · Scopes: <span data-field="scopes"></span></p>
    <p><a href="/hub/token">Done</a></p>
  </div>
</section>
<section class="card" aria-labelledby="tokens-h">
  <h2 id="tokens-h">Your tokens</h2>
  ${
    tokens.length === 0
      ? html`<p class="muted">You have no API or OAuth tokens.</p>`
      : html`<div class="table-wrap"><table class="tokens stack">
    <thead><tr><th scope="col">Note</th><th scope="col">Kind</th><th scope="col">Scopes</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
    <tbody>${tokens.map((t) => tokenRow(viewer, xsrf, t))}</tbody>
  </table></div>`
  }
</section>`,
    viewer,
    xsrf,
    { current: 'tokens' },
  );
}

import type { AuditEntry } from '../audit/audit-log.ts';
import type { UsageBy, UsageRow } from '../audit/usage.ts';
import type { AdminSection } from './admin-nav.ts';
import { adminLayout } from './admin-pages.ts';
import { when } from './format.ts';
import { type Html, html } from './html.ts';
import type { Viewer } from './pages.ts';

export interface AuditFilters {
  readonly action: string;
  readonly actor: string;
  readonly user: string;
  readonly outcome: '' | 'success' | 'failure' | 'denied';
}

function detailText(d: Record<string, unknown>): string {
  const s = JSON.stringify(d);
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
}

function auditRow(e: AuditEntry): Html {
  return html`<tr>
  <td data-label="When">${when(e.at)}</td>
  <td data-label="Action"><code>${e.action}</code></td>
  <td data-label="Outcome"><span class="outcome outcome-${e.outcome}">${e.outcome}</span></td>
  <td data-label="Actor">${e.actor ?? html`<span class="muted">—</span>`}</td>
  <td data-label="Target">${e.target_user ?? ''}${e.target ? html` <span class="muted">${e.target}</span>` : ''}</td>
  <td class="detail wide" data-label="Detail"><code>${detailText(e.detail)}</code></td>
</tr>`;
}

export function auditPage(
  viewer: Viewer,
  xsrf: string,
  sections: readonly AdminSection[],
  d: { entries: readonly AuditEntry[]; filters: AuditFilters; offset: number; limit: number; total: number },
): string {
  const f = d.filters;
  const params = (offset: number) =>
    new URLSearchParams({
      ...Object.fromEntries(Object.entries(f).filter(([, v]) => v !== '')),
      offset: String(offset),
    }).toString();
  const to = Math.min(d.offset + d.limit, d.total);
  return adminLayout(
    'Audit log',
    viewer,
    xsrf,
    sections,
    '/hub/admin/audit',
    html`<section class="card" aria-labelledby="audit-h">
  <h1 id="audit-h">Audit log</h1>
  <form method="get" action="/hub/admin/audit" class="filters" role="search" aria-label="Filter the audit log">
    <div><label for="f-action">Action</label><input id="f-action" name="action" value="${f.action}" maxlength="100" placeholder="e.g. user.create"></div>
    <div><label for="f-actor">Actor</label><input id="f-actor" name="actor" value="${f.actor}" maxlength="300"></div>
    <div><label for="f-user">User affected</label><input id="f-user" name="user" value="${f.user}" maxlength="300"></div>
    <div><label for="f-outcome">Outcome</label><select id="f-outcome" name="outcome">${(
      ['', 'success', 'failure', 'denied'] as const
    ).map(
      (o) => html`<option value="${o}"${o === f.outcome ? html` selected` : ''}>${o || 'any'}</option>`,
    )}</select></div>
    <div class="filter-submit"><button type="submit">Filter</button></div>
  </form>
  <div class="table-wrap"><table class="audit stack">
    <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Outcome</th><th scope="col">Actor</th><th scope="col">Target</th><th scope="col">Detail</th></tr></thead>
    <tbody>${d.entries.length ? d.entries.map(auditRow) : html`<tr><td colspan="6" class="muted">No entries match.</td></tr>`}</tbody>
  </table></div>
  <nav class="pager" aria-label="Pages"><span>${d.total === 0 ? 0 : d.offset + 1}–${to} of ${d.total}</span>
  ${d.offset > 0 ? html`<a href="/hub/admin/audit?${params(Math.max(0, d.offset - d.limit))}" rel="prev">Newer</a>` : ''}
  ${to < d.total ? html`<a href="/hub/admin/audit?${params(d.offset + d.limit)}" rel="next">Older</a>` : ''}</nav>
</section>`,
  );
}

export function usagePage(
  viewer: Viewer,
  xsrf: string,
  sections: readonly AdminSection[],
  d: { rows: readonly UsageRow[]; by: UsageBy; from: Date; to: Date },
): string {
  const day = (x: Date) => x.toISOString().slice(0, 10);
  const q = new URLSearchParams({ by: d.by, from: day(d.from), to: day(d.to) }).toString();
  const total = d.rows.reduce((n, r) => n + r.server_hours, 0);
  return adminLayout(
    'Usage',
    viewer,
    xsrf,
    sections,
    '/hub/admin/usage',
    html`<section class="card" aria-labelledby="usage-h">
  <h1 id="usage-h">Usage report</h1>
  <form method="get" action="/hub/admin/usage" class="filters" aria-label="Report range">
    <div><label for="u-from">From</label><input id="u-from" name="from" type="date" value="${day(d.from)}" required></div>
    <div><label for="u-to">To</label><input id="u-to" name="to" type="date" value="${day(d.to)}" required></div>
    <div><label for="u-by">Per</label><select id="u-by" name="by">${(
      ['user', 'group', 'profile'] as const
    ).map((b) => html`<option value="${b}"${b === d.by ? html` selected` : ''}>${b}</option>`)}</select></div>
    <div class="filter-submit"><button type="submit">Show</button></div>
  </form>
  <div class="table-wrap"><table class="stack">
    <caption class="sr-only">Server-hours per ${d.by}</caption>
    <thead><tr><th scope="col">${d.by}</th><th scope="col">Server-hours</th><th scope="col">Servers</th></tr></thead>
    <tbody>${
      d.rows.length
        ? d.rows.map(
            (r) =>
              html`<tr><th scope="row">${r.key}</th><td data-label="Server-hours">${r.server_hours.toFixed(2)}</td><td data-label="Servers">${r.servers}</td></tr>`,
          )
        : html`<tr><td colspan="3" class="muted">No servers ran in this range.</td></tr>`
    }</tbody>
    <tfoot><tr><th scope="row">Total</th><td data-label="Server-hours">${total.toFixed(2)}</td><td class="empty"></td></tr></tfoot>
  </table></div>
  <p><a class="button secondary" href="/hub/admin/usage.csv?${q}" download>Download CSV</a></p>
  <p class="help">From the start of the first day to the start of the last, in UTC. A server still running counts up to now.</p>
</section>`,
  );
}

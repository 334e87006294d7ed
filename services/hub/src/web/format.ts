import { type Html, html } from './html.ts';

/** A moment as a `<time>` element: ISO in the attribute, a short UTC form for people. */
export function when(d: Date | string | null | undefined): Html {
  if (!d) return html`<span class="muted">never</span>`;
  const date = new Date(d);
  if (Number.isNaN(date.getTime())) return html`<span class="muted">unknown</span>`;
  const iso = date.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

/** A user's server path segment for hub URLs: `alice` or `alice/named`, each part URI-encoded. */
export function serverPath(user: string, server: string): string {
  return server ? `${encodeURIComponent(user)}/${encodeURIComponent(server)}` : encodeURIComponent(user);
}

export function xsrfField(xsrf: string): Html {
  return html`<input type="hidden" name="_xsrf" value="${xsrf}">`;
}

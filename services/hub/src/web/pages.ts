import { hasAnyAdminView } from './admin-nav.ts';
import { type Html, html } from './html.ts';

export interface Viewer {
  readonly name: string;
  readonly admin: boolean;
  /** The viewer's expanded scopes; the navigation shows only what they allow. */
  readonly scopes?: readonly string[];
}

export interface LayoutOptions {
  /** The admin's announcement, shown above the page (login and home). */
  readonly banner?: string | null;
  /** Which navigation entry is the current page. */
  readonly current?: 'home' | 'tokens' | 'admin';
  /** A wider page for tables with many columns (admin). */
  readonly wide?: boolean;
}

function navLink(href: string, label: string, here: boolean): Html {
  return here
    ? html`<a href="${href}" aria-current="page">${label}</a>`
    : html`<a href="${href}">${label}</a>`;
}

export function layout(
  title: string,
  body: Html,
  viewer?: Viewer,
  xsrf?: string,
  opts: LayoutOptions = {},
): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Berth</title>
<link rel="stylesheet" href="/hub/static/berth.css">
<script src="/hub/static/berth-forms.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="bar">
  <a class="brand" href="/hub/home">Berth</a>
  ${
    viewer
      ? html`<nav aria-label="Main">${navLink('/hub/home', 'Home', opts.current === 'home')}${navLink('/hub/token', 'Tokens', opts.current === 'tokens')}${navLink('/hub/account/password', 'Password', false)}${viewer.scopes && hasAnyAdminView(viewer.scopes, viewer.name) ? navLink('/hub/admin', 'Admin', opts.current === 'admin') : ''}<span class="who">${viewer.name}</span>
      <form method="post" action="/hub/logout" class="inline"><input type="hidden" name="_xsrf" value="${xsrf ?? ''}"><button type="submit" class="link">Log out</button></form></nav>`
      : ''
  }
</header>
${opts.banner ? html`<aside class="banner" aria-label="Announcement"><p>${opts.banner}</p></aside>` : ''}
<main id="main" tabindex="-1"${opts.wide ? html` class="wide"` : ''}>
${body}
</main>
</body>
</html>`.value;
}

export interface LoginProvider {
  readonly name: string;
  readonly href: string;
}

export function loginPage(opts: {
  xsrf: string;
  next: string;
  error?: string;
  username?: string;
  /** One "Sign in with …" button per OIDC provider, beside the form (local and LDAP share the form). */
  providers?: readonly LoginProvider[];
  /** The admin's announcement. */
  banner?: string | null;
}): string {
  return layout(
    'Sign in',
    html`<section class="card narrow">
  <h1>Sign in</h1>
  ${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
  <form method="post" action="/hub/login">
    <input type="hidden" name="_xsrf" value="${opts.xsrf}">
    <input type="hidden" name="next" value="${opts.next}">
    <label for="username">Username</label>
    <input id="username" name="username" autocomplete="username" autocapitalize="none" required maxlength="64" value="${opts.username ?? ''}" autofocus>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
    <button type="submit">Sign in</button>
  </form>
  ${opts.providers?.length ? html`<div class="providers">${opts.providers.map((p) => html`<a class="button secondary" href="${p.href}">Sign in with ${p.name}</a>`)}</div>` : ''}
</section>`,
    undefined,
    undefined,
    { banner: opts.banner ?? null },
  );
}

export function notRunningPage(viewer: Viewer, xsrf: string, owner: string, isOwner: boolean): string {
  return layout(
    'Server not running',
    html`<section class="card">
  <h1>Server not running</h1>
  ${
    isOwner
      ? html`<p>Your server is not running. Would you like to start it?</p>
  <form method="post" action="/hub/spawn"><input type="hidden" name="_xsrf" value="${xsrf}"><button type="submit">Start my server</button></form>`
      : html`<p>The server of ${owner} is not running, or you may not open it.</p>`
  }
</section>`,
    viewer,
    xsrf,
  );
}

export function errorPage(status: number, message: string): string {
  return layout(
    `Error ${status}`,
    html`<section class="card narrow">
  <h1>${status}</h1>
  <p>${message}</p>
  <p><a href="/hub/home">Home</a></p>
</section>`,
  );
}

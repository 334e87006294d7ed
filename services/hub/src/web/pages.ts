import { type Html, html } from './html.ts';

export interface Viewer {
  readonly name: string;
  readonly admin: boolean;
}

export function layout(title: string, body: Html, viewer?: Viewer, xsrf?: string): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Berth</title>
<link rel="stylesheet" href="/hub/static/berth.css">
</head>
<body>
<header class="bar">
  <a class="brand" href="/hub/home">Berth</a>
  ${
    viewer
      ? html`<nav><span class="who">${viewer.name}</span>
      <form method="post" action="/hub/logout" class="inline"><input type="hidden" name="_xsrf" value="${xsrf ?? ''}"><button type="submit" class="link">Log out</button></form></nav>`
      : ''
  }
</header>
<main>
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
  );
}

export interface HomeServer {
  readonly name: string;
  readonly state: 'running' | 'pending' | 'stopping' | 'stopped';
  readonly url: string;
  readonly lastActivity: string | null;
}

export function homePage(
  viewer: Viewer,
  xsrf: string,
  server: HomeServer,
  failure?: { message: string; logs?: string },
): string {
  const s = server;
  return layout(
    'Home',
    html`<section class="card">
  <h1>Your server</h1>
  ${failure ? html`<div class="error" role="alert"><p>The last start failed: ${failure.message}</p>${failure.logs ? html`<pre>${failure.logs}</pre>` : ''}</div>` : ''}
  <p>Status: <strong class="state state-${s.state}">${s.state}</strong>${s.lastActivity ? html` · last activity ${s.lastActivity}` : ''}</p>
  <div class="actions">
  ${
    s.state === 'running'
      ? html`<a class="button" href="${s.url}">Open</a>
  <form method="post" action="/hub/stop" class="inline"><input type="hidden" name="_xsrf" value="${xsrf}"><button type="submit" class="secondary">Stop</button></form>`
      : s.state === 'pending'
        ? html`<a class="button" href="/hub/spawn-pending/${encodeURIComponent(viewer.name)}">Starting…</a>`
        : html`<form method="post" action="/hub/spawn" class="inline"><input type="hidden" name="_xsrf" value="${xsrf}"><button type="submit">Start my server</button></form>`
  }
  </div>
</section>`,
    viewer,
    xsrf,
  );
}

export function pendingPage(viewer: Viewer, xsrf: string, target: string): string {
  return layout(
    'Starting',
    html`<section class="card">
  <h1>Your server is starting</h1>
  <div id="spawn-progress" data-progress-url="/hub/api/users/${encodeURIComponent(viewer.name)}/server/progress?_xsrf=${encodeURIComponent(xsrf)}">
    <progress max="100" value="0"></progress>
    <p class="progress progress-message" role="status">This page refreshes until it is ready, then takes you there.</p>
  </div>
  <noscript><meta http-equiv="refresh" content="2;url=${target}"></noscript>
  <script src="/hub/static/spawn-pending.js" defer></script>
  <p><a href="/hub/home">Back to home</a></p>
</section>`,
    viewer,
    xsrf,
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

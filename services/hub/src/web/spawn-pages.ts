import { serverPath, xsrfField } from './format.ts';
import { type Html, html } from './html.ts';
import { layout, type Viewer } from './pages.ts';

/** A profile as the picker shows it (see profile-choices.ts for where they come from). */
export interface ProfileChoice {
  readonly name: string;
  readonly displayName: string;
  readonly description: string;
  /** e.g. "2 CPUs · 4 GiB memory". */
  readonly resources: string;
  /** undefined: the profile needs no GPU. */
  readonly gpu?: { readonly available: boolean; readonly text: string };
  readonly default?: boolean;
}

function serverField(server: string): Html {
  return html`<input type="hidden" name="server_name" value="${server}">`;
}

export function pickerPage(
  viewer: Viewer,
  xsrf: string,
  server: string,
  profiles: readonly ProfileChoice[],
  error?: string,
): string {
  const first =
    profiles.find((p) => p.default && p.gpu?.available !== false) ??
    profiles.find((p) => p.gpu?.available !== false);
  return layout(
    'Start a server',
    html`<section class="card">
  <h1>Start ${server ? html`the server <span class="name">${server}</span>` : 'your server'}</h1>
  ${error ? html`<p class="error" role="alert">${error}</p>` : ''}
  <form method="post" action="/hub/spawn">
    ${xsrfField(xsrf)}${serverField(server)}
    <fieldset class="profiles">
      <legend>Choose a profile</legend>
      ${profiles.map((p) => {
        const off = p.gpu !== undefined && !p.gpu.available;
        const id = `profile-${p.name}`;
        return html`<div class="profile${off ? ' unavailable' : ''}">
        <input type="radio" name="profile" id="${id}" value="${p.name}"${p === first ? html` checked` : ''}${off ? html` disabled` : ''} aria-describedby="${id}-d">
        <label for="${id}"><span class="profile-name">${p.displayName}</span></label>
        <div id="${id}-d" class="profile-detail">
          <p>${p.description}</p>
          <p class="resources">${p.resources}${p.gpu ? html` · <span class="gpu ${p.gpu.available ? 'gpu-ok' : 'gpu-off'}">${p.gpu.text}</span>` : ''}</p>
        </div>
      </div>`;
      })}
    </fieldset>
    <button type="submit">Start</button> <a href="/hub/home">Cancel</a>
  </form>
</section>`,
    viewer,
    xsrf,
  );
}

export function pendingPage(viewer: Viewer, xsrf: string, server: string, target: string): string {
  const path = serverPath(viewer.name, server);
  const progress = server
    ? `/hub/api/users/${encodeURIComponent(viewer.name)}/servers/${encodeURIComponent(server)}/progress`
    : `/hub/api/users/${encodeURIComponent(viewer.name)}/server/progress`;
  return layout(
    'Starting',
    html`<section class="card">
  <h1>${server ? html`The server <span class="name">${server}</span> is starting` : 'Your server is starting'}</h1>
  <div id="spawn-progress" data-progress-url="${progress}?_xsrf=${encodeURIComponent(xsrf)}" data-failed-url="/hub/spawn-pending/${path}">
    <label for="spawn-bar">Progress</label>
    <progress id="spawn-bar" max="100" value="0"></progress>
    <p class="progress progress-message" role="status" aria-live="polite">This page refreshes until it is ready, then takes you there.</p>
    <details><summary>Event log</summary><ol class="progress-log"></ol></details>
  </div>
  <noscript><meta http-equiv="refresh" content="2;url=${target}"></noscript>
  <script src="/hub/static/spawn-pending.js" defer></script>
  <div class="actions">
    <form method="post" action="/hub/stop" class="inline">${xsrfField(xsrf)}${serverField(server)}<button type="submit" class="secondary">Cancel</button></form>
    <a href="/hub/home">Back to home</a>
  </div>
</section>`,
    viewer,
    xsrf,
  );
}

export function spawnFailedPage(
  viewer: Viewer,
  xsrf: string,
  server: string,
  failure: { readonly code: string; readonly message: string; readonly logs?: string },
): string {
  return layout(
    'Start failed',
    html`<section class="card">
  <h1>${server ? html`The server <span class="name">${server}</span> did not start` : 'Your server did not start'}</h1>
  <div class="error" role="alert"><p><strong>Reason:</strong> ${failure.message} <span class="muted">(${failure.code})</span></p></div>
  ${
    failure.logs
      ? html`<h2>Last lines of the server's log</h2><pre class="logs" tabindex="0">${failure.logs}</pre>`
      : html`<p class="muted">The server left no log lines.</p>`
  }
  <div class="actions"><a class="button" href="/hub/home">Back to home</a></div>
</section>`,
    viewer,
    xsrf,
  );
}

import { MIN_PASSWORD_LENGTH } from '../accounts/passwords.ts';
import { html } from './html.ts';
import { layout, type Viewer } from './pages.ts';

const newPasswordFields = html`<label for="password">New password</label>
    <input id="password" name="password" type="password" autocomplete="new-password" required minlength="${MIN_PASSWORD_LENGTH}" maxlength="1024">
    <label for="confirm">New password again</label>
    <input id="confirm" name="confirm" type="password" autocomplete="new-password" required minlength="${MIN_PASSWORD_LENGTH}" maxlength="1024">`;

/** `/hub/account/password`: a local user changes their own password (the current one is required). */
export function changePasswordPage(
  viewer: Viewer,
  xsrf: string,
  opts: { error?: string; done?: boolean; local: boolean },
): string {
  const body = !opts.local
    ? html`<p>Your password is kept by your organisation's sign-in service, not by Berth. Change it there.</p>`
    : html`${opts.done ? html`<p class="notice" role="status">Your password was changed. Your other sessions have been signed out.</p>` : ''}
  ${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
  <form method="post" action="/hub/account/password">
    <input type="hidden" name="_xsrf" value="${xsrf}">
    <input type="text" name="username" autocomplete="username" value="${viewer.name}" hidden>
    <label for="current">Current password</label>
    <input id="current" name="current" type="password" autocomplete="current-password" required maxlength="1024">
    ${newPasswordFields}
    <button type="submit">Change password</button>
  </form>`;
  return layout(
    'Change password',
    html`<section class="card narrow">
  <h1>Change password</h1>
  ${body}
</section>`,
    viewer,
    xsrf,
  );
}

/** `/hub/invite/<secret>`: the invited person chooses their password. */
export function acceptInvitationPage(opts: {
  xsrf: string;
  action: string;
  username: string;
  error?: string;
}): string {
  return layout(
    'Welcome',
    html`<section class="card narrow">
  <h1>Welcome to Berth</h1>
  <p>You were invited as <strong>${opts.username}</strong>. Choose a password to finish.</p>
  ${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
  <form method="post" action="${opts.action}">
    <input type="hidden" name="_xsrf" value="${opts.xsrf}">
    <input type="text" name="username" autocomplete="username" value="${opts.username}" hidden>
    ${newPasswordFields}
    <button type="submit">Create my account</button>
  </form>
</section>`,
  );
}

/** `/hub/signup` (only with BERTH_LOCAL_SIGNUP=1): anyone picks a name and a password. */
export function signupPage(opts: { xsrf: string; username?: string; error?: string }): string {
  return layout(
    'Sign up',
    html`<section class="card narrow">
  <h1>Sign up</h1>
  ${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
  <form method="post" action="/hub/signup">
    <input type="hidden" name="_xsrf" value="${opts.xsrf}">
    <label for="username">Username</label>
    <input id="username" name="username" autocomplete="username" autocapitalize="none" required maxlength="64" value="${opts.username ?? ''}">
    ${newPasswordFields}
    <button type="submit">Create my account</button>
  </form>
  <p><a href="/hub/login">Sign in instead</a></p>
</section>`,
  );
}

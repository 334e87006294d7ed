import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { contextFor, launchChromium, navigate } from '../support/browser.ts';
import { ComposeStack } from '../support/compose.ts';

const SHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../.artifacts/', import.meta.url));
const CONFIG = fileURLToPath(new URL('../../config/', import.meta.url));
const SINGLEUSER = process.env.BERTH_E2E_SINGLEUSER_IMAGE ?? 'berth/singleuser:lab';

/**
 * Three profiles on the one single-user image there is (pinned by id): a choice to make in the picker, and a
 * description carrying a payload that must stay text.
 */
function profilesFile(imageId: string): string {
  const base = { image: imageId, default_url: '/lab', internet: false, groups: [] };
  return JSON.stringify({
    default: 'standard',
    profiles: [
      {
        ...base,
        name: 'standard',
        display_name: 'Standard',
        description: 'JupyterLab with Python 3 for everyday work.',
        cpu: 1,
        memory: '1G',
      },
      {
        ...base,
        name: 'large',
        display_name: 'Large',
        description: 'More memory and CPU for heavier notebooks.',
        cpu: 2,
        memory: '2G',
      },
      {
        ...base,
        name: 'sandbox',
        display_name: 'Sandbox',
        description: `Try things out. ${XSS}`,
        cpu: 0.5,
        memory: '512M',
      },
      {
        // Its server cannot start: Python finds no standard library and exits at once, with a clear last line.
        ...base,
        name: 'broken',
        display_name: 'Broken',
        description: 'A profile whose server exits at once (for the failure page).',
        cpu: 0.5,
        memory: '512M',
        environment: { PYTHONHOME: '/nonexistent' },
      },
    ],
  });
}

/** Runs script if any page writes it unescaped: an alert or a dialog would show. */
const XSS = `<img src=x onerror="alert('xss')"><script>alert('xss')</script>`;
const ALICE_PW = 'alice-has-a-long-password';
const ROOT_PW = 'root-has-a-long-password';

/**
 * A person's path through Berth in a real browser (Debian's Chromium): log in, start a server (choosing a
 * profile when the hub has them), watch it start, run a cell in JupyterLab, go back to the hub, stop the
 * server, log out. Then the tokens page, the admin's flows (add a user, make them admin, start and stop their
 * server, set an announcement), escaped payloads that would open a dialog if they ran, and a phone-sized
 * screen. Screenshots of every page land in docs/screenshots/. Every request to any other host is aborted.
 */
describe('in a real browser', { timeout: 1_800_000 }, () => {
  let stack: ComposeStack;
  let browser: Browser;
  let ctx: BrowserContext;
  /** Requests each browser context aborted because they went to another host. */
  const blocked: string[][] = [];
  const dialogs: string[] = [];
  let page: Page;
  const shot = async (name: string, p: Page = page) => {
    await styled(p);
    await p.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
  };

  /**
   * The page's own stylesheet has loaded: an unstyled page is a broken screenshot. Chromium here drops requests
   * whenever a Docker network appears or goes (support/browser.ts), the stylesheet's too; then the page's link
   * is loaded again (the same URL; nothing is added), at most three times.
   */
  async function styled(p: Page): Promise<void> {
    const CSS = 'link[rel="stylesheet"][href="/hub/static/berth.css"]';
    for (let i = 0; i < 3; i++) {
      const state = await p.evaluate((sel) => {
        const link = document.querySelector<HTMLLinkElement>(sel);
        if (!link) return 'no link';
        try {
          return (link.sheet?.cssRules.length ?? 0) > 0 ? 'ok' : 'not loaded';
        } catch {
          return 'not loaded';
        }
      }, CSS);
      if (state === 'ok') return;
      assert.notEqual(state, 'no link', `${p.url()} links no stylesheet`);
      await p.evaluate(
        (sel) =>
          new Promise<void>((done) => {
            const link = document.querySelector<HTMLLinkElement>(sel) as HTMLLinkElement;
            const again = link.cloneNode() as HTMLLinkElement;
            again.onload = () => done();
            again.onerror = () => done();
            link.replaceWith(again);
          }),
        CSS,
      );
    }
    throw new Error(`the stylesheet of ${p.url()} did not load`);
  }

  /** A fresh browser profile (own cookies), off-host requests aborted, dialogs recorded and dismissed. */
  async function newContext(width = 1280, height = 800): Promise<{ c: BrowserContext; p: Page }> {
    const made = await contextFor(browser, stack.base);
    blocked.push(made.blocked);
    const c = made.ctx;
    // The machine is shared and often loaded: generous waits, and the test's own deadlines decide.
    c.setDefaultTimeout(120_000);
    c.setDefaultNavigationTimeout(120_000);
    c.on('page', (p) =>
      p.on('dialog', (d) => {
        dialogs.push(`${d.type()}: ${d.message()}`);
        void d.dismiss();
      }),
    );
    const p = await c.newPage();
    await p.setViewportSize({ width, height });
    return { c, p };
  }

  async function signIn(p: Page, user: string, password: string): Promise<void> {
    await retrying(p, async () => {
      await p.goto(`${stack.base}/hub/login`);
      if (new URL(p.url()).pathname === '/hub/home') return; // already signed in by a cut-off try
      await p.fill('#username', user);
      await p.fill('#password', password);
      await p.click('form[action="/hub/login"] button[type=submit]');
      await p.waitForURL('**/hub/home');
    });
  }

  /**
   * Run a step again when Chromium cut it off: it runs on the Docker host and aborts requests with
   * ERR_NETWORK_CHANGED whenever any container network appears or goes (see support/browser.ts), which other
   * work on the same engine does at any moment. Steps are written to be safe to repeat.
   */
  async function retrying<T>(p: Page, fn: () => Promise<T>, tries = 4): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await fn();
      } catch (err) {
        // JupyterLab also moves itself to /lab/workspaces/… right after it loads: a goto from there can be
        // interrupted by that navigation.
        const cut =
          String(err).includes('ERR_NETWORK_CHANGED') ||
          String(err).includes('interrupted by another navigation') ||
          p.url().startsWith('chrome-error:');
        if (!cut || i >= tries) throw err;
        await p.waitForTimeout(1000);
      }
    }
  }

  /** Reload until `check` holds: the page's own script reloads after actions, but Chromium may drop them. */
  async function until(p: Page, check: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check().catch(() => false)) return;
      await p.waitForTimeout(1000);
      await p.reload().catch(() => undefined);
    }
    throw new Error(`never reached the expected state at ${p.url()}`);
  }

  let profilesPath = '';

  before(async () => {
    const imageId = execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', SINGLEUSER], {
      encoding: 'utf8',
    }).trim();
    // The hub reads profiles from ./config (mounted read-only); this run's file goes when the run ends.
    const file = `e2e-browser-profiles-${process.pid}.json`;
    profilesPath = `${CONFIG}${file}`;
    writeFileSync(profilesPath, profilesFile(imageId), { mode: 0o644 });
    stack = await ComposeStack.create({
      BERTH_PROFILES_FILE: `/etc/berth/config/${file}`,
      BERTH_SINGLEUSER_IMAGE: imageId,
    });
    await stack.up();
    const r = await stack.berth(['user', 'add', 'alice', '--password-stdin'], `${ALICE_PW}\n`);
    assert.equal(r.code, 0, r.stderr);
    const a = await stack.berth(['user', 'add', 'root', '--admin', '--password-stdin'], `${ROOT_PW}\n`);
    assert.equal(a.code, 0, a.stderr);
    browser = await launchChromium();
    ({ c: ctx, p: page } = await newContext());
  });

  afterEach(async (t) => {
    // Each step leaves a picture of where the browser ended, for when it fails (test/.artifacts, not committed).
    await page?.screenshot({ path: `${ARTIFACTS}${t.name.replace(/\W+/g, '-')}.png` }).catch(() => undefined);
  });

  after(async () => {
    await browser?.close();
    if (stack && process.env.BERTH_E2E_KEEP !== '1') await stack.down();
    if (profilesPath) rmSync(profilesPath, { force: true });
  });

  it('shows the login page and refuses a wrong password without saying which part was wrong', () =>
    retrying(page, async () => {
      await page.goto(`${stack.base}/`);
      await page.waitForSelector('form[action="/hub/login"]');
      assert.equal(new URL(page.url()).pathname, '/hub/login');
      await shot('login');
      await page.fill('#username', 'alice');
      await page.fill('#password', 'wrong password');
      await page.click('button[type=submit]');
      await page.waitForSelector('.error');
      assert.equal((await page.textContent('.error'))?.trim(), 'Invalid username or password.');
      await shot('login-error');
    }));

  it('keeps a reflected payload in `next` inert', () =>
    retrying(page, async () => {
      await page.goto(
        `${stack.base}/hub/login?next=${encodeURIComponent(`/hub/home"><script>alert(1)</script>${XSS}`)}`,
      );
      await page.waitForSelector('form[action="/hub/login"]');
      assert.equal(await page.locator('script:not([src])').count(), 0);
      assert.equal(await page.locator('img[src="x"]').count(), 0);
      assert.deepEqual(dialogs, []);
    }));

  it('logs in, starts the server (through the profile picker when there is one) and lands in JupyterLab', async () => {
    await signIn(page, 'alice', ALICE_PW);
    await shot('home-stopped');
    let sawPending = false;
    let failure: string | undefined;
    const start = page.locator('tr[data-server=""] .row-actions').getByText('Start my server');
    // Three profiles: starting goes through the picker, which lists what alice may use.
    assert.equal(await start.getAttribute('href'), '/hub/spawn/alice');
    await retrying(page, async () => {
      await start.click();
      await page.waitForSelector('fieldset.profiles');
    });
    const names = await page.locator('fieldset.profiles .profile-name').allTextContents();
    assert.deepEqual([...names].sort(), ['Broken', 'Large', 'Sandbox', 'Standard']);
    assert.match(
      (await page.textContent('label[for="profile-sandbox"] ~ .profile-detail')) ?? '',
      /Try things out\. <img src=x/,
    );
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    assert.match((await page.textContent('#profile-large-d .resources')) ?? '', /2 CPUs · 2 GiB memory/);
    await shot('spawn-picker');
    await page.check('#profile-large');
    const picker = true;
    await navigate(
      page,
      () => (picker ? page.click('fieldset.profiles ~ button[type=submit]') : start.click()),
      `${stack.base}/hub/spawn-pending/alice`,
      async (p) => {
        if (new URL(p.url()).pathname === '/hub/spawn-pending/alice') {
          if ((await p.locator('h1:text("did not start")').count()) > 0) {
            failure = (await p.textContent('.error')) ?? 'unknown';
            return true;
          }
          if (!sawPending && (await p.locator('#spawn-progress').count()) > 0) {
            sawPending = true;
            await p
              .waitForFunction(
                () => (document.querySelector('#spawn-bar') as HTMLProgressElement)?.value > 0,
                null,
                { timeout: 10_000 },
              )
              .catch(() => undefined);
            await shot('spawn-pending', p).catch(() => undefined);
          }
        }
        return new URL(p.url()).pathname.startsWith('/user/alice/lab');
      },
    );
    assert.equal(failure, undefined, 'the server started');
    assert.ok(sawPending, 'the progress page was shown while the server started');
    await page.waitForURL('**/user/alice/lab**', { timeout: 180_000 }).catch(async (err) => {
      await shot('failure');
      throw new Error(
        `never reached JupyterLab; at ${page.url()}: ${(await page.textContent('body'))?.slice(0, 300)}`,
        { cause: err },
      );
    });
    await page.waitForSelector('.jp-Launcher', { timeout: 300_000 });
    await page.screenshot({ path: `${SHOTS}jupyterlab.png` });
  });

  it('runs a cell that prints a computed value', async () => {
    await page.click('.jp-LauncherCard[data-category="Notebook"]');
    const cell = page.locator('.jp-Cell .cm-content').first();
    await cell.waitFor({ timeout: 60_000 });
    // Wait for the kernel to be idle before typing.
    await page.getByText('Python 3 (ipykernel) | Idle').waitFor({ timeout: 300_000 });
    await cell.click();
    await page.keyboard.type('print(6 * 7, sum(range(10)))');
    await page.keyboard.press('Shift+Enter');
    const out = page.locator('.jp-OutputArea-output').first();
    await out.waitFor({ timeout: 120_000 });
    assert.equal((await out.textContent())?.trim(), '42 45');
    await page.screenshot({ path: `${SHOTS}notebook.png` });
  });

  it("goes back to the hub through JupyterLab's hub menu, stops the server and logs out", async () => {
    await page.click('.lm-MenuBar-itemLabel:text("File")');
    await page.screenshot({ path: `${SHOTS}jupyterlab-file-menu.png` });
    // JupyterLab opens the control panel in a new tab or the same one, depending on version.
    const opened = ctx.waitForEvent('page', { timeout: 10_000 }).catch(() => page);
    await page.click('.lm-Menu-itemLabel:text("Hub Control Panel")');
    page = await opened;
    await page.waitForURL('**/hub/home');
    await page.waitForSelector('.state-running');
    assert.equal((await page.locator('tr[data-server=""] td').nth(1).textContent())?.trim(), 'large');
    await shot('home-running');
    await navigate(
      page,
      () => page.click('button:text("Stop")'),
      `${stack.base}/hub/home`,
      async (p) => (await p.locator('text=Start my server').count()) > 0,
    );
    assert.deepEqual(await stack.userContainers(true), []);
    await page.click('button:text("Log out")');
    await page.waitForURL('**/hub/login');
    await page.goto(`${stack.base}/hub/home`);
    await page.waitForURL('**/hub/login**');
  });

  it('creates a token with a note, scope and expiry, shows it once, lists its last use and revokes it', async () => {
    await signIn(page, 'alice', ALICE_PW);
    await retrying(page, async () => {
      await page.goto(`${stack.base}/hub/home`);
      await page.click('nav a:text("Tokens")');
      await page.waitForURL('**/hub/token');
    });
    await shot('tokens');
    const token = await retrying(page, async () => {
      await page.goto(`${stack.base}/hub/token`);
      await page.fill('#note', `notebook sync ${XSS}`);
      await page.selectOption('#expires_in', '604800');
      await page.check('input[name="scopes"][value="read:users!user=alice"]');
      await page.click('button:text("Create token")');
      const code = page.locator('#new-token code[data-field="token"]');
      await code.waitFor({ state: 'visible', timeout: 120_000 });
      return (await code.textContent())?.trim() ?? '';
    });
    assert.match(token, /^[A-Za-z0-9_-]{20,}$/);
    await shot('token-created');
    const me = await stack.fetch(`${stack.base}/hub/api/user`, {
      headers: { authorization: `token ${token}` },
    });
    assert.equal(me.status, 200);
    await retrying(page, () => page.goto(`${stack.base}/hub/token`));
    // A cut-off try may have made a second token with the same note: the one shown is the newest.
    const row = page.locator('tr[data-token]').filter({ hasText: 'notebook sync' }).last();
    assert.ok((await row.textContent())?.includes('<img src=x'), 'the payload is shown as text');
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    assert.equal(await row.locator('td').nth(4).locator('time').count(), 1, 'last used is recorded');
    await shot('tokens-list');
    const rows = page.locator('tr[data-token]').filter({ hasText: 'notebook sync' });
    await until(
      page,
      async () => {
        const n = await rows.count();
        if (n === 0) return true;
        await rows.first().locator('button:text("Revoke")').click();
        return false;
      },
      120_000,
    );
    const after = await stack.fetch(`${stack.base}/hub/api/user`, {
      headers: { authorization: `token ${token}` },
    });
    assert.equal(after.status, 403);
    assert.deepEqual(dialogs, []);
  });

  it('shows a plain user no admin link and refuses the admin pages', () =>
    retrying(page, async () => {
      assert.equal(await page.locator('nav a:text("Admin")').count(), 0);
      const res = await page.goto(`${stack.base}/hub/admin/users`);
      assert.equal(res?.status(), 403);
      await shot('error-403');
    }));

  it('lets an admin add a user, make them admin, and start and stop their server', async () => {
    const { p } = await newContext();
    await signIn(p, 'root', ROOT_PW);
    await retrying(p, async () => {
      await p.goto(`${stack.base}/hub/home`);
      await p.click('nav a:text("Admin")');
      await p.waitForURL('**/hub/admin');
      await p.click('.subnav a:text("Users")');
      await p.waitForURL('**/hub/admin/users');
    });
    await until(
      p,
      async () => {
        if ((await p.locator('tr[data-user="bob"]').count()) === 1) return true;
        await p.fill('#usernames', 'bob, carol');
        await p.click('button:text("Add users")');
        await p.waitForTimeout(1000);
        return (await p.locator('tr[data-user="bob"]').count()) === 1;
      },
      120_000,
    );
    await until(
      p,
      async () => {
        if ((await p.locator('tr[data-user="bob"] .badge').count()) === 1) return true;
        await p.locator('tr[data-user="bob"] button:text("Make admin")').click();
        await p.waitForTimeout(1000);
        return false;
      },
      120_000,
    );
    await shot('admin-users', p);
    await retrying(p, async () => {
      await p.goto(`${stack.base}/hub/admin/users`);
      await p.fill('#q', 'car');
      await p.click('form[role="search"] button');
      await p.waitForURL('**/hub/admin/users?q=car');
    });
    assert.deepEqual(
      await p
        .locator('tbody tr[data-user]')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-user'))),
      ['carol'],
    );
    await until(
      p,
      async () => {
        if ((await p.locator('tr[data-user="carol"]').count()) === 0) return true;
        await p.locator('tr[data-user="carol"] summary').click();
        await p.locator('tr[data-user="carol"] button:text("Delete carol")').click();
        await p.waitForTimeout(1000);
        return false;
      },
      120_000,
    );

    await retrying(p, () => p.goto(`${stack.base}/hub/admin/servers?q=bob`));
    await until(p, async () => {
      const row = p.locator('tr[data-server="bob/"]');
      if ((await row.locator('.state-running').count()) === 1) return true;
      const start = row.locator('button:text("Start")');
      if ((await start.count()) === 1) await start.click();
      await p.waitForTimeout(3000);
      return false;
    });
    await shot('admin-servers', p);
    await until(p, async () => {
      if ((await p.locator('tr[data-server="bob/"] .state-stopped').count()) === 1) return true;
      const all = p.locator('button[data-bulk="form.stop-server"]');
      if (await all.isEnabled()) await all.click();
      await p.waitForTimeout(3000);
      return false;
    });
    // bob's container is gone (only bob's: another step's server may still run).
    const bobs = execFileSync('docker', ['ps', '-aq', '--filter', `name=^${stack.project}-bob$`], {
      encoding: 'utf8',
    });
    assert.equal(bobs.trim(), '');
    await p.context().close();
  });

  it('shows the admin groups, profiles, audit log and usage pages', async () => {
    const { p } = await newContext();
    await signIn(p, 'root', ROOT_PW);
    await retrying(p, () => p.goto(`${stack.base}/hub/admin/groups`));
    await until(
      p,
      async () => {
        if ((await p.locator('tr[data-group="physics"]').count()) === 1) return true;
        await p.fill('#group-name', 'physics');
        await p.fill('#group-users', 'alice bob');
        await p.click('button:text("Create group")');
        await p.waitForTimeout(1000);
        return false;
      },
      120_000,
    );
    assert.deepEqual(
      await p
        .locator('tr[data-group="physics"] ul.members li')
        .allTextContents()
        .then((l) => l.map((t) => t.replace('remove', '').trim())),
      ['alice', 'bob'],
    );
    await shot('admin-groups', p);
    await retrying(p, () => p.goto(`${stack.base}/hub/admin/profiles`));
    assert.equal(await p.locator('tr[data-profile]').count(), 4);
    assert.equal(await p.locator('img[src="x"]').count(), 0);
    await shot('admin-profiles', p);
    await retrying(p, () => p.goto(`${stack.base}/hub/admin/audit`));
    assert.ok(
      (await p.locator('table.audit tbody tr').count()) > 1,
      'the admin actions above are in the log',
    );
    await shot('admin-audit', p);
    await retrying(p, () => p.goto(`${stack.base}/hub/admin/usage`));
    assert.equal(
      await p.locator('tbody th:text-is("bob")').count(),
      1,
      'bob’s server (started above) is counted',
    );
    await shot('admin-usage', p);
    await p.context().close();
    assert.deepEqual(dialogs, []);
  });

  it('lets an admin set an announcement shown on login and home; a stored payload stays text', async () => {
    const { p } = await newContext();
    await signIn(p, 'root', ROOT_PW);
    const announce = (message: string) =>
      until(
        p,
        async () => {
          if (
            (await p.inputValue('#announcement')) === message &&
            (message === '' || (await p.locator('text=Set by root').count()) === 1)
          ) {
            return true;
          }
          await p.fill('#announcement', message);
          await p.click('button:text("Save")');
          await p.waitForTimeout(1000);
          return false;
        },
        120_000,
      );
    await retrying(p, () => p.goto(`${stack.base}/hub/admin/announcement`));
    await announce(`Maintenance ${XSS}`);
    await retrying(page, () => page.goto(`${stack.base}/hub/home`));
    assert.match((await page.textContent('.banner')) ?? '', /Maintenance <img src=x/);
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    await announce('Scheduled maintenance on Saturday 08:00–10:00 UTC: save your work.');
    await shot('admin-announcement', p);
    await retrying(page, () => page.goto(`${stack.base}/hub/home`));
    await shot('home-announcement');
    const anon = await newContext();
    await retrying(anon.p, () => anon.p.goto(`${stack.base}/hub/login`));
    assert.match((await anon.p.textContent('.banner')) ?? '', /Scheduled maintenance/);
    await shot('login-announcement', anon.p);
    await anon.c.close();
    await announce('');
    await p.context().close();
    assert.deepEqual(dialogs, []);
  });

  it('fits a phone: 390 px wide, no horizontal scrolling', async () => {
    const phone = await newContext(390, 844);
    await retrying(phone.p, () => phone.p.goto(`${stack.base}/hub/login`));
    await shot('phone-login', phone.p);
    await signIn(phone.p, 'alice', ALICE_PW);
    await shot('phone-home', phone.p);
    const wide = await phone.p.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 390, `the page is ${wide} px wide`);
    await retrying(phone.p, () => phone.p.goto(`${stack.base}/hub/token`));
    await shot('phone-tokens', phone.p);
    await phone.c.close();
  });

  it('is usable from the keyboard: skip link, then the first control, with a visible focus ring', () =>
    retrying(page, async () => {
      await page.goto(`${stack.base}/hub/home`);
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
      const ring = await page.evaluate(
        () => getComputedStyle(document.activeElement as Element).outlineStyle,
      );
      assert.equal(ring, 'solid');
      await page.keyboard.press('Enter');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
      // Every form control has a label.
      const unlabelled = await page.evaluate(() =>
        [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
          .filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label'))
          .map((el) => el.outerHTML),
      );
      assert.deepEqual(unlabelled, []);
    }));

  it('shows a clear page for an unknown address', () =>
    retrying(page, async () => {
      const res = await page.goto(`${stack.base}/hub/no-such-page`);
      assert.equal(res?.status(), 404);
      assert.equal((await page.textContent('h1'))?.trim(), '404');
      await shot('error-404');
    }));

  /** The home volumes of `user` this deployment made (Docker's own answer, not the hub's). */
  const homeVolumes = (user: string): string[] =>
    execFileSync(
      'docker',
      [
        'volume',
        'ls',
        '-q',
        '--filter',
        `label=org.berth.deployment=${stack.project}`,
        '--filter',
        `label=org.berth.user=${user}`,
      ],
      { encoding: 'utf8' },
    )
      .split('\n')
      .filter((v) => v.startsWith(`${stack.project}-home-`));

  /** An opened confirmation form lies wholly inside its table's visible box (a clipped choice is a broken page). */
  async function assertNotClipped(form: ReturnType<Page['locator']>): Promise<void> {
    const out = await form.evaluate((f) => {
      const wrap = f.closest('.table-wrap') ?? document.documentElement;
      const r = f.getBoundingClientRect();
      const w = wrap.getBoundingClientRect();
      return { form: [r.left, r.right] as const, box: [w.left, w.right] as const };
    });
    assert.ok(
      out.form[0] >= out.box[0] - 1 && out.form[1] <= out.box[1] + 1,
      `the form ${JSON.stringify(out.form)} is clipped by its table ${JSON.stringify(out.box)}`,
    );
  }

  /** Start a named server through the home page's form and the picker, until its JupyterLab answers. */
  async function startNamed(p: Page, server: string, profile: string): Promise<void> {
    await retrying(p, async () => {
      await p.goto(`${stack.base}/hub/home`);
      await p.fill('#server_name', server);
      await p.click('form.new-server button[type=submit]');
      await p.waitForSelector('fieldset.profiles');
    });
    await p.check(`#profile-${profile}`);
    await navigate(
      p,
      () => p.click('fieldset.profiles ~ button[type=submit]'),
      `${stack.base}/hub/spawn-pending/alice/${server}`,
      async (q) =>
        new URL(q.url()).pathname.startsWith(`/user/alice/${server}/`) ||
        (await q.locator('h1:text("did not start")').count()) > 0,
      300_000,
    );
  }

  it('creates a named server from home, stops it (it stays listed), and deletes it with its volume', async () => {
    await signIn(page, 'alice', ALICE_PW);
    await startNamed(page, 'scratch', 'standard');
    assert.ok(new URL(page.url()).pathname.startsWith('/user/alice/scratch/'), `at ${page.url()}`);
    assert.deepEqual(homeVolumes('alice').sort(), [
      `${stack.project}-home-alice`,
      `${stack.project}-home-alice--scratch`,
    ]);
    await retrying(page, () => page.goto(`${stack.base}/hub/home`));
    const row = page.locator('tr[data-server="scratch"]');
    await row.locator('.state-running').waitFor();
    assert.equal(await row.locator('a.button:text("Open")').getAttribute('href'), '/user/alice/scratch/');
    await navigate(
      page,
      () => row.locator('button:text("Stop")').click(),
      `${stack.base}/hub/home`,
      async (p) => (await p.locator('tr[data-server="scratch"] .state-stopped').count()) === 1,
    );
    // Stopped, it keeps its row: profile and last activity, Start and Delete.
    assert.equal((await row.locator('td[data-label="Profile"]').textContent())?.trim(), 'standard');
    assert.equal(await row.locator('td[data-label="Last activity"] time').count(), 1);
    // With profiles, Start is a link to the picker.
    assert.equal(
      await row.locator('a.button:text("Start")').getAttribute('href'),
      '/hub/spawn/alice/scratch',
    );
    assert.equal(await row.locator('a.button:text("Open")').count(), 0);
    await row.locator('summary:text("Delete")').click();
    await assertNotClipped(row.locator('form.confirm'));
    await shot('home-named-stopped');
    const containers = execFileSync(
      'docker',
      ['ps', '-aq', '--filter', `name=^${stack.project}-alice--scratch$`],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(containers.trim(), '', 'no container for a stopped server');
    assert.deepEqual(homeVolumes('alice').sort(), [
      `${stack.project}-home-alice`,
      `${stack.project}-home-alice--scratch`,
    ]);
    await row.locator('input[name="volumes"][value="delete"]').check();
    await navigate(
      page,
      () => row.locator('button:text("Delete scratch")').click(),
      `${stack.base}/hub/home`,
      async (p) =>
        new URL(p.url()).pathname === '/hub/home' &&
        (await p.locator('tr[data-server="scratch"]').count()) === 0,
    );
    // Only that server's volume went; the default server's stays.
    assert.deepEqual(homeVolumes('alice'), [`${stack.project}-home-alice`]);
    assert.deepEqual(dialogs, []);
  });

  it("shows a failed start's reason and the container's last log lines", async () => {
    await startNamed(page, 'crash', 'broken');
    await page.locator('h1:text("did not start")').waitFor();
    const text = (await page.textContent('main')) ?? '';
    assert.match(text, /exited/i);
    assert.match(text, /No module named 'encodings'/, 'the last log lines are shown');
    await shot('spawn-failed');
    // Home says why too, and lists the server stopped; delete it (its volume kept) to leave alice as she was.
    await retrying(page, () => page.goto(`${stack.base}/hub/home`));
    assert.match((await page.textContent('.error')) ?? '', /The last start of the server crash failed/);
    const row = page.locator('tr[data-server="crash"]');
    await row.locator('summary:text("Delete")').click();
    await row.locator('input[name="volumes"][value="keep"]').check();
    await navigate(
      page,
      () => row.locator('button:text("Delete crash")').click(),
      `${stack.base}/hub/home`,
      async (p) => (await p.locator('tr[data-server="crash"]').count()) === 0,
    );
    assert.ok(homeVolumes('alice').includes(`${stack.project}-home-alice--crash`), 'kept as chosen');
  });

  it('shows the password change page, refusing a wrong current password', () =>
    retrying(page, async () => {
      await page.goto(`${stack.base}/hub/account/password`);
      await page.waitForSelector('form[action="/hub/account/password"]');
      await shot('account-password');
      await page.fill('#current', 'not the password');
      await page.fill('#password', 'a-new-long-password-1');
      await page.fill('#confirm', 'a-new-long-password-1');
      await page.click('form[action="/hub/account/password"] button[type=submit]');
      await page.waitForSelector('.error');
      assert.equal((await page.textContent('.error'))?.trim(), 'The current password is wrong.');
    }));

  it('lets an invited person set a password; an admin blocks them and their login is then refused', async () => {
    const inv = await stack.berth(['invite', 'dave']);
    assert.equal(inv.code, 0, inv.stderr);
    const path = new URL(inv.stdout.trim().split(/\s/)[0] ?? '').pathname;
    assert.match(path, /^\/hub\/invite\//);
    const dave = await newContext();
    await retrying(dave.p, async () => {
      await dave.p.goto(`${stack.base}${path}`);
      await dave.p.waitForSelector('#password');
    });
    await shot('invitation', dave.p);
    await dave.p.fill('#password', 'dave-has-a-long-password');
    await dave.p.fill('#confirm', 'dave-has-a-long-password');
    await dave.p.click('form[action^="/hub/invite/"] button[type=submit]');
    await dave.p.waitForURL('**/hub/home');

    const admin = await newContext();
    await signIn(admin.p, 'root', ROOT_PW);
    await retrying(admin.p, () => admin.p.goto(`${stack.base}/hub/admin/users?q=dave`));
    await until(
      admin.p,
      async () => {
        if ((await admin.p.locator('tr[data-user="dave"] .badge-blocked').count()) === 1) return true;
        await admin.p.locator('tr[data-user="dave"] button:text("Block")').click();
        await admin.p.waitForTimeout(1000);
        return false;
      },
      120_000,
    );
    await shot('admin-user-blocked', admin.p);
    // Dave's session ended: his next page is the login; and his password no longer lets him in.
    await retrying(dave.p, () => dave.p.goto(`${stack.base}/hub/home`));
    await dave.p.waitForURL('**/hub/login**');
    await dave.p.fill('#username', 'dave');
    await dave.p.fill('#password', 'dave-has-a-long-password');
    await dave.p.click('form[action="/hub/login"] button[type=submit]');
    await dave.p.waitForSelector('.error');
    assert.equal((await dave.p.textContent('.error'))?.trim(), 'Invalid username or password.');
    assert.notEqual(new URL(dave.p.url()).pathname, '/hub/home');
    await dave.c.close();
    await admin.c.close();
  });

  it('lets an admin delete users, keeping the home volume of one and deleting the other', async () => {
    // Signed in first: starting and stopping a server below changes the host's networks, which cuts Chromium's
    // requests in flight (see support/browser.ts).
    const { p } = await newContext();
    await signIn(p, 'root', ROOT_PW);
    // erin gets a home volume by running a server once (started and stopped through the API).
    const added = await stack.berth(['user', 'add', 'erin']);
    assert.equal(added.code, 0, added.stderr);
    const minted = await stack.berth(['token', 'create', 'root']);
    assert.equal(minted.code, 0, minted.stderr);
    const token = minted.stdout.trim();
    const call = (method: string, path: string) =>
      stack.fetch(`${stack.base}/hub/api${path}`, { method, headers: { authorization: `token ${token}` } });
    const started = await call('POST', '/users/erin/server');
    assert.ok([201, 202].includes(started.status), `start: ${started.status}`);
    const deadline = Date.now() + 300_000;
    while (Date.now() < deadline) {
      const m = (await (await call('GET', '/users/erin')).json()) as { server: string | null };
      if (m.server) break;
      await page.waitForTimeout(2000);
    }
    assert.equal((await call('DELETE', '/users/erin/server')).status, 204);
    assert.deepEqual(homeVolumes('erin'), [`${stack.project}-home-erin`]);
    assert.deepEqual(homeVolumes('bob'), [`${stack.project}-home-bob`], 'bob ran a server above');

    const remove = async (user: string, choice: 'keep' | 'delete') => {
      await retrying(p, () => p.goto(`${stack.base}/hub/admin/users?q=${user}`));
      await until(
        p,
        async () => {
          if ((await p.locator(`tr[data-user="${user}"]`).count()) === 0) return true;
          await p.locator(`tr[data-user="${user}"] summary`).click();
          await p.locator(`tr[data-user="${user}"] input[name="volumes"][value="${choice}"]`).check();
          await assertNotClipped(p.locator(`tr[data-user="${user}"] form.confirm`));
          if (choice === 'keep') await shot('admin-user-delete', p);
          await p.locator(`tr[data-user="${user}"] button:text("Delete ${user}")`).click();
          await p.waitForTimeout(1000);
          return false;
        },
        120_000,
      );
    };
    await remove('bob', 'keep');
    await remove('erin', 'delete');
    assert.deepEqual(homeVolumes('bob'), [`${stack.project}-home-bob`], 'kept as chosen');
    assert.deepEqual(homeVolumes('erin'), [], 'deleted as chosen');
    const archives = execFileSync(
      'docker',
      ['volume', 'ls', '-q', '--filter', `label=org.berth.deployment=${stack.project}`],
      { encoding: 'utf8' },
    );
    assert.doesNotMatch(archives, /-archive-(bob|erin)-/, 'neither was archived');
    await p.context().close();
    assert.deepEqual(dialogs, []);
  });

  it('made no request to any other host and opened no dialog', () => {
    assert.deepEqual(blocked.flat(), []);
    assert.deepEqual(dialogs, []);
  });
});

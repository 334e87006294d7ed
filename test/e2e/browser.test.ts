import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { contextFor, launchChromium, navigate } from '../support/browser.ts';
import { ComposeStack } from '../support/compose.ts';

const SHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../.artifacts/', import.meta.url));

/**
 * A person's path through Berth in a real browser (Debian's Chromium): log in, start a server, watch it
 * start, run a cell in JupyterLab, go back to the hub, stop the server, log out. Screenshots of each page
 * land in docs/screenshots/.
 */
describe('in a real browser', { timeout: 900_000 }, () => {
  let stack: ComposeStack;
  let browser: Browser;
  let ctx: BrowserContext;
  let blocked: string[];
  let page: Page;
  const shot = (name: string) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: false });

  before(async () => {
    stack = await ComposeStack.create();
    await stack.up();
    const r = await stack.berth(['user', 'add', 'alice', '--password-stdin'], 'alice-has-a-long-password\n');
    assert.equal(r.code, 0, r.stderr);
    browser = await launchChromium();
    ({ ctx, blocked } = await contextFor(browser, stack.base));
    page = await ctx.newPage();
  });

  afterEach(async (t) => {
    // Each step leaves a picture of where the browser ended, for when it fails (test/.artifacts, not committed).
    await page?.screenshot({ path: `${ARTIFACTS}${t.name.replace(/\W+/g, '-')}.png` }).catch(() => undefined);
  });

  after(async () => {
    await browser?.close();
    if (stack && process.env.BERTH_E2E_KEEP !== '1') await stack.down();
  });

  it('shows the login page and refuses a wrong password without saying which part was wrong', async () => {
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
  });

  it('logs in, starts the server and lands in JupyterLab', async () => {
    await page.fill('#username', 'alice');
    await page.fill('#password', 'alice-has-a-long-password');
    await page.click('button[type=submit]');
    await page.waitForURL('**/hub/home');
    await shot('home-stopped');
    await navigate(
      page,
      () => page.click('text=Start my server'),
      `${stack.base}/hub/spawn-pending/alice`,
      async (p) => new URL(p.url()).pathname.startsWith('/user/alice/lab'),
    );
    // The spawn-pending page (or the ready server) follows; JupyterLab is the destination.
    await page.waitForURL('**/user/alice/lab**', { timeout: 180_000 }).catch(async (err) => {
      await shot('failure');
      throw new Error(
        `never reached JupyterLab; at ${page.url()}: ${(await page.textContent('body'))?.slice(0, 300)}`,
        {
          cause: err,
        },
      );
    });
    await page.waitForSelector('.jp-Launcher', { timeout: 120_000 });
    await shot('jupyterlab');
  });

  it('runs a cell that prints a computed value', async () => {
    await page.click('.jp-LauncherCard[data-category="Notebook"]');
    const cell = page.locator('.jp-Cell .cm-content').first();
    await cell.waitFor({ timeout: 60_000 });
    // Wait for the kernel to be idle before typing.
    await page.getByText('Python 3 (ipykernel) | Idle').waitFor({ timeout: 120_000 });
    await cell.click();
    await page.keyboard.type('print(6 * 7, sum(range(10)))');
    await page.keyboard.press('Shift+Enter');
    const out = page.locator('.jp-OutputArea-output').first();
    await out.waitFor({ timeout: 120_000 });
    assert.equal((await out.textContent())?.trim(), '42 45');
    await shot('notebook');
  });

  it("goes back to the hub through JupyterLab's hub menu, stops the server and logs out", async () => {
    await page.click('.lm-MenuBar-itemLabel:text("File")');
    await shot('jupyterlab-file-menu');
    // JupyterLab opens the control panel in a new tab or the same one, depending on version.
    const opened = ctx.waitForEvent('page', { timeout: 10_000 }).catch(() => page);
    await page.click('.lm-Menu-itemLabel:text("Hub Control Panel")');
    page = await opened;
    await page.waitForURL('**/hub/home');
    await page.waitForSelector('text=running');
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

  it('made no request to any other host', () => {
    assert.deepEqual(blocked, []);
  });
});

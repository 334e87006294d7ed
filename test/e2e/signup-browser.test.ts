/**
 * The signup page (only with BERTH_LOCAL_SIGNUP=1, off in the compose stack the main browser test drives), in
 * Debian's Chromium against a real hub on a real Postgres: its screenshot for docs/, a refused weak password shown
 * on the page, then an account made and signed in. The page breaks no Content-Security-Policy rule.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type Harness, startHarness } from '../../services/hub/src/testing/hub-harness.ts';
import { contextFor, launchChromium } from '../support/browser.ts';

const SHOTS = new URL('../../docs/screenshots/', import.meta.url).pathname;

describe('signup in a real browser (BERTH_LOCAL_SIGNUP=1)', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let blocked: string[];
  const cspViolations: string[] = [];

  before(async () => {
    h = await startHarness({ env: { BERTH_LOCAL_SIGNUP: '1' } });
    browser = await launchChromium();
    const c = await contextFor(browser, h.base);
    blocked = c.blocked;
    page = await c.ctx.newPage();
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
    });
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  /** Chromium on a Docker host drops loads when networks come and go (support/browser.ts): load again. */
  async function open(path: string): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        await page.goto(`${h.base}${path}`);
        return;
      } catch (err) {
        if (i >= 3 || !/ERR_NETWORK_CHANGED/.test(String(err))) throw err;
      }
    }
  }

  it('shows the form, labelled and styled; screenshot docs/screenshots/signup.png', async () => {
    await open('/hub/signup');
    assert.equal(await page.getByRole('heading', { name: 'Sign up' }).isVisible(), true);
    for (const label of ['Username', 'New password', 'New password again']) {
      assert.equal(await page.getByLabel(label, { exact: true }).isVisible(), true, label);
    }
    const styled = await page.evaluate(
      () => getComputedStyle(document.body).fontFamily !== 'Times New Roman',
    );
    assert.equal(styled, true, 'the stylesheet applied');
    await page.screenshot({ path: `${SHOTS}signup.png`, fullPage: true });
  });

  it('a password that is too short is refused on the page, the name kept', async () => {
    await page.getByLabel('Username', { exact: true }).fill('newcomer');
    await page.getByLabel('New password', { exact: true }).fill('short');
    await page.getByLabel('New password again', { exact: true }).fill('short');
    // The browser's own minlength check would stop the form: bypass it as a hostile client would.
    await page.evaluate(() => {
      for (const i of document.querySelectorAll('input')) i.removeAttribute('minlength');
    });
    await page.getByRole('button', { name: 'Create my account' }).click();
    await page.getByRole('alert').waitFor();
    assert.match((await page.getByRole('alert').textContent()) ?? '', /characters|short|long/i);
    assert.equal(await page.getByLabel('Username', { exact: true }).inputValue(), 'newcomer');
  });

  it('makes the account and signs the person in', async () => {
    await page.getByLabel('New password', { exact: true }).fill('a-long-enough-password');
    await page.getByLabel('New password again', { exact: true }).fill('a-long-enough-password');
    await page.getByRole('button', { name: 'Create my account' }).click();
    await page.waitForURL(/\/hub\/(home|spawn)/);
    assert.ok(await h.hub.ctx.users.byName('newcomer'), 'the account exists');
    assert.match(await page.content(), /newcomer/);
    assert.deepEqual(cspViolations, []);
    assert.deepEqual(blocked, [], 'nothing off-host was requested');
  });
});

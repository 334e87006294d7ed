import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.BERTH_CHROMIUM ?? '/usr/bin/chromium';

/** Debian's Chromium, headless, as ENVIRONMENT.md describes. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/**
 * A browser context for one deployment: it accepts the deployment's locally issued certificate and refuses
 * every request to any other host (the network is closed, and a test must not depend on the outside).
 */
export async function contextFor(
  browser: Browser,
  base: string,
): Promise<{ ctx: BrowserContext; blocked: string[] }> {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  const origin = new URL(base).origin;
  const blocked: string[] = [];
  await ctx.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  return { ctx, blocked };
}

/**
 * Run a navigation, and if Chromium aborted it with ERR_NETWORK_CHANGED, load `recover` instead.
 *
 * Chromium here runs on the Docker host itself, and aborts in-flight requests whenever a network interface
 * appears or disappears: the hub creates and removes a network for each user server, so the very click that
 * starts or stops one can be cut off. A person's browser on another machine never sees this. The action is
 * idempotent on the hub's side (start and stop are single-flight), so loading `recover` shows the true state.
 */
export async function navigate(
  page: Page,
  action: () => Promise<unknown>,
  recover: string,
  done: (page: Page) => Promise<boolean>,
  timeoutMs = 180_000,
): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (!String(err).includes('ERR_NETWORK_CHANGED')) throw err;
  }
  const deadline = Date.now() + timeoutMs;
  // An aborted navigation can also leave the old page in place with no error page: reload `recover` now and
  // then, which shows the hub's true state.
  let reloadAt = Date.now() + 5_000;
  while (Date.now() < deadline) {
    if (page.url().startsWith('chrome-error:')) await page.goto(recover).catch(() => undefined);
    else if (await done(page).catch(() => false)) return;
    else if (Date.now() >= reloadAt) {
      reloadAt = Date.now() + 5_000;
      await page.goto(recover).catch(() => undefined);
    }
    await page.waitForTimeout(250);
  }
  throw new Error(`navigation did not finish; the browser is at ${page.url()}`);
}

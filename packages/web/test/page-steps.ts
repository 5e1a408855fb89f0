import { chromium, type Browser, type BrowserContextOptions, type Locator, type Page } from 'playwright-core';

/** Steps of the page tests in Chromium (page.test.ts, rooms-page.test.ts; launchChromium for the fake-gateway ones too). */

export const WAIT_MS = 20_000;

/** Debian's chromium (CI installs it with apt); playwright never downloads a browser here. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

export function launchChromium(args: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...args] });
}

/** Every script error and console error of `page` goes into `problems`, for the test to hold to none. */
export function recordProblems(page: Page, problems: string[]): void {
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => msg.type() === 'error' && problems.push(`console: ${msg.text()}`));
}

/** A page in its own context (its own storage) at `url`, once it is connected. */
export async function openConnected(browser: Browser, url: string, problems: string[], context: BrowserContextOptions = {}): Promise<Page> {
  const page = await (await browser.newContext(context)).newPage();
  recordProblems(page, problems);
  await page.goto(url);
  await waitState(page, 'open');
  return page;
}

export async function waitState(page: Page, state: string): Promise<void> {
  await page.locator(`#status[data-state="${state}"]`).waitFor({ timeout: WAIT_MS });
}

/** Type a line in the message box and press Enter. */
export async function say(page: Page, text: string): Promise<void> {
  await page.locator('#text').fill(text);
  await page.locator('#text').press('Enter');
}

/** The first entry of `kind` in the message list whose text matches, once it is there. */
export async function entry(page: Page, kind: string, text: RegExp, timeout = WAIT_MS): Promise<Locator> {
  const found = page.locator(`#log li[data-kind="${kind}"]`).filter({ hasText: text }).first();
  await found.waitFor({ timeout });
  return found;
}

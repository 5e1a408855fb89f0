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

/**
 * Record, in the page, the delivery state of each chat line the moment it is added to
 * the message list, and every later change of it: what a person (or a screen reader)
 * saw, in order. A MutationObserver's callback runs before the page reads the next
 * frame from the network, so the first state is the one the line was added with.
 */
export async function recordDelivery(page: Page): Promise<void> {
  await page.evaluate(RECORD_DELIVERY);
}

/** In the page as it is (a string: the test's compiler would add helpers the page lacks). */
const RECORD_DELIVERY = `(() => {
  const seen = [];
  window.__delivery = seen;
  const state = (li) => {
    const text = li.querySelector('.text')?.textContent ?? '';
    const label = li.querySelector('.delivery')?.textContent;
    return text + ': ' + (li.getAttribute('data-delivery') ?? 'acknowledged') + (label === undefined ? '' : ' (' + label + ')');
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'childList') {
        for (const node of r.addedNodes) if (node instanceof HTMLElement && node.dataset.kind === 'message') seen.push('added ' + state(node));
      } else if (r.target instanceof HTMLElement) {
        seen.push('now ' + state(r.target));
      }
    }
  }).observe(document.getElementById('log'), { childList: true, attributes: true, attributeFilter: ['data-delivery'], subtree: true });
})()`;

export async function deliveryRecord(page: Page): Promise<string[]> {
  return page.evaluate<string[]>('window.__delivery');
}

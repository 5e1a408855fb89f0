import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { GatewayProcess, SEED_STYLE_PAGE_DIR } from '@switchboard/testkit';

/** Debian's chromium (CI installs it with apt); playwright never downloads a browser here. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WAIT_MS = 20_000;

/** Run in every page before its own scripts: collects every Content-Security-Policy violation the browser reports. */
const RECORD_VIOLATIONS = `
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
  });
`;

/**
 * The security headers in a real browser. The bundled page works under its
 * strict CSP header and cannot be framed by another site; a page the gateway
 * did not write (a custom PUBLIC_DIR shaped like the seed's: inline script and
 * handlers, a CDN) still runs, connects and chats under the lenient one. The
 * CDN is unreachable here, so its requests are failed at once by the test.
 */
describe('security headers in Chromium: the bundled page and a custom PUBLIC_DIR', () => {
  let bundled: GatewayProcess;
  let custom: GatewayProcess;
  let browser: Browser;

  /** A fresh context: off-machine requests fail at once, CSP violations and console complaints are recorded. */
  async function open(url: string): Promise<{ page: Page; context: BrowserContext; complaints: string[] }> {
    const context = await browser.newContext();
    await context.route('**/*', (route) => {
      const { hostname } = new URL(route.request().url());
      return hostname === '127.0.0.1' ? route.continue() : route.abort('internetdisconnected');
    });
    await context.addInitScript(RECORD_VIOLATIONS);
    const page = await context.newPage();
    const complaints: string[] = [];
    page.on('pageerror', (err) => complaints.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => /Content Security Policy|Refused to/i.test(msg.text()) && complaints.push(`console: ${msg.text()}`));
    const response = await page.goto(url);
    assert.equal(response?.status(), 200);
    return { page, context, complaints };
  }

  before(async () => {
    [bundled, custom] = await Promise.all([
      GatewayProcess.start({ env: { REDIS_URL: '', NODE_ID: 'csp-bundled' } }),
      GatewayProcess.start({ env: { REDIS_URL: '', NODE_ID: 'csp-custom', PUBLIC_DIR: SEED_STYLE_PAGE_DIR } }),
    ]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  after(async () => {
    await browser?.close();
    await Promise.all([bundled?.kill(), custom?.kill()]);
  });

  it('runs the bundled page under its strict CSP header with no violation', async () => {
    const { page, context, complaints } = await open(bundled.httpUrl);
    const response = await page.request.get(bundled.httpUrl);
    assert.match(response.headers()['content-security-policy'] ?? '', /default-src 'none'.*frame-ancestors 'self'/);
    await page.locator('#status[data-state="open"]').waitFor({ timeout: WAIT_MS });
    await page.locator('#text').fill('hello under a strict policy');
    await page.locator('#text').press('Enter');
    await page.locator('#log li', { hasText: 'hello under a strict policy' }).waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await page.evaluate('window.__violations'), []);
    assert.deepEqual(complaints, []);
    await context.close();
  });

  it('runs a seed-style page from a custom PUBLIC_DIR: its inline script connects and chats, no CSP violation', async () => {
    const { page, context, complaints } = await open(custom.httpUrl);
    const response = await page.request.get(custom.httpUrl);
    assert.equal(response.headers()['content-security-policy'], "frame-ancestors 'self'");
    await page.locator('body[data-state="open"]').waitFor({ timeout: WAIT_MS });
    await page.locator('#lines li.welcome').waitFor({ timeout: WAIT_MS });

    // The inline onclick handler sends; the inline onsubmit (Enter) does too.
    await page.locator('#box').fill('hello from a page with inline script');
    await page.locator('#send').click();
    await page.locator('#lines li.message', { hasText: 'hello from a page with inline script' }).waitFor({ timeout: WAIT_MS });
    await page.locator('#box').fill('/nick seedling');
    await page.locator('#box').press('Enter');
    await page.locator('#lines li.nick_update', { hasText: 'changed to seedling' }).waitFor({ timeout: WAIT_MS });

    assert.deepEqual(await page.evaluate('window.__violations'), []);
    assert.deepEqual(complaints, []);
    await context.close();
  });

  it("lets a page frame its own origin, and keeps the bundled page out of another site's frame", async () => {
    const { page, context } = await open(custom.httpUrl);
    /** Add an iframe named `name` showing `src`, once it has loaded (an error page, if the browser refused it). */
    const frame = async (name: string, src: string) => {
      await page.evaluate(`new Promise((resolve) => {
        const iframe = document.createElement('iframe');
        iframe.name = ${JSON.stringify(name)};
        iframe.src = ${JSON.stringify(src)};
        iframe.onload = () => resolve();
        document.body.append(iframe);
      })`);
      return page.frame({ name })!;
    };
    const own = await frame('own', `${custom.httpUrl}/`);
    assert.equal(await own.locator('#lines').count(), 1, 'the same origin may frame the page');
    const foreign = await frame('foreign', `${bundled.httpUrl}/`);
    assert.equal(await foreign.locator('#log').count(), 0, 'frame-ancestors keeps the bundled page out of another origin');
    await context.close();
  });
});

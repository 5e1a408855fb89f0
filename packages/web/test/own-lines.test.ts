import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { accessibilityViolations } from './accessibility.js';
import { WAIT_MS, launchChromium, openPage, sentFrames, server } from './fake-gateway-page.js';
import { deliveryRecord, recordDelivery, say } from './page-steps.js';

/** The page's own lines against a fake gateway: shown at once, pending until acknowledged. */
describe('the chat page showing its own lines until they are acknowledged', () => {
  let browser: Browser;
  const problems: string[] = [];

  before(async () => {
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
  });

  it('shows a line at once as pending ("sending…"), then as any line once its echo comes, and once', async () => {
    const page = await openPage(browser, problems);
    await recordDelivery(page);
    await say(page, 'quick one');
    const line = page.locator('#log li[data-kind="message"]').filter({ hasText: 'quick one' });
    await page.locator('#log li[data-kind="message"]:not([data-delivery])').filter({ hasText: 'quick one' }).waitFor({ timeout: WAIT_MS });
    assert.equal(await line.count(), 1, 'the echo is not shown a second time');
    assert.equal(await line.locator('.delivery').count(), 0);
    assert.ok((await line.getAttribute('class'))?.includes('entry--own'));
    assert.deepEqual(await deliveryRecord(page), ['added quick one: pending (sending…)', 'now quick one: acknowledged']);
    await page.context().close();
    assert.deepEqual(problems, []);
  });

  it('keeps a line pending while the gateway answers nothing, resends it, says "not sent yet, retrying" past the reconnect bound, and shows it sent after the reconnect', async () => {
    const page = await openPage(browser, problems, { clock: true });
    await recordDelivery(page);
    await server(page, 'hold', []);
    await say(page, 'into the silence');
    const line = page.locator('#log li[data-kind="message"]').filter({ hasText: 'into the silence' });
    await line.waitFor({ timeout: WAIT_MS });
    assert.equal(await line.getAttribute('data-delivery'), 'pending');
    assert.equal(await line.locator('.delivery').innerText(), 'sending…');
    assert.deepEqual(await accessibilityViolations(page), [], 'a pending line breaks no WCAG 2.1 AA rule');
    const [first] = await sentFrames(page);
    assert.equal(first?.type, 'message');

    // The SDK's defaults: written again after 5 s without an answer, on the same connection, same ref.
    await page.clock.fastForward(5_000);
    await page.locator('#log li[data-resends="1"]').waitFor({ timeout: WAIT_MS });
    assert.deepEqual(
      (await sentFrames(page)).map((f) => f.ref),
      [first?.ref, first?.ref],
    );
    assert.equal(await line.getAttribute('data-delivery'), 'pending', 'a resend alone is not worth a word');

    // 15 s without an answer: overdue, and the SDK reconnects.
    await page.clock.fastForward(10_000);
    await page.locator('#log li[data-delivery="retrying"]').waitFor({ timeout: WAIT_MS });
    assert.equal(await line.locator('.delivery').innerText(), 'not sent yet, retrying');
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      assert.deepEqual(await accessibilityViolations(page), [], `a line being retried breaks no WCAG 2.1 AA rule (${scheme})`);
    }
    await page.clock.fastForward(1_000); // the reconnect's backoff
    await page.waitForFunction('window.__server.sockets() === 2 && window.__server.ready()', undefined, { timeout: WAIT_MS });

    // The gateway hears again; the session resumes, and the line goes out once more and is echoed.
    await server(page, 'release', []);
    await server(page, 'welcome', [undefined, undefined, true]);
    await page
      .locator('#log li[data-kind="message"]:not([data-delivery])')
      .filter({ hasText: 'into the silence' })
      .waitFor({ timeout: WAIT_MS });
    assert.equal(await line.count(), 1, 'shown once');
    assert.equal(await line.locator('.delivery').count(), 0);
    assert.deepEqual(
      (await sentFrames(page)).filter((f) => f.type === 'message').map((f) => f.ref),
      [first?.ref],
      'resent after the resume with the same ref',
    );
    assert.deepEqual(await deliveryRecord(page), [
      'added into the silence: pending (sending…)',
      'now into the silence: retrying (not sent yet, retrying)',
      'now into the silence: acknowledged',
    ]);
    await page.context().close();
    assert.deepEqual(problems, []);
  });

  it('says "not sent" beside a line the gateway refuses for good', async () => {
    const page = await openPage(browser, problems);
    await server(page, 'refuseNext', ['BAD_FRAME', 'That frame is not valid.']);
    await say(page, 'refused');
    const line = page.locator('#log li[data-kind="message"][data-delivery="failed"]').filter({ hasText: 'refused' });
    await line.waitFor({ timeout: WAIT_MS });
    assert.equal(await line.locator('.delivery').innerText(), 'not sent');
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      assert.deepEqual(await accessibilityViolations(page), [], `a line not sent breaks no WCAG 2.1 AA rule (${scheme})`);
    }
    await page.locator('#log li[data-kind="error"]').filter({ hasText: 'That frame is not valid.' }).waitFor({ timeout: WAIT_MS });
    await page.context().close();
    assert.deepEqual(problems, []);
  });
});

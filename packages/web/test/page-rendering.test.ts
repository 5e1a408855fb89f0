import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ClientLimits } from '@switchboard/protocol';
import { NOON, WAIT_MS, launchChromium, openPage, server } from './fake-gateway-page.js';

const XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';

/** A broadcast from someone else (bob, at NOON, unless told). */
async function broadcast(page: Page, frame: Record<string, unknown>): Promise<void> {
  await server(page, 'broadcast', [frame]);
}

/**
 * The chat page's rendering in real Chromium against a fake gateway: the built
 * page, served from disk, no cluster. The end-to-end page tests (page.test.ts)
 * cover the same page against real gateways.
 */
describe('the chat page rendering frames from a fake gateway', () => {
  let browser: Browser;
  const problems: string[] = [];

  /** The page, open and welcomed with `limits` (none: an older gateway that announces none). */
  const open = (limits?: ClientLimits): Promise<Page> => openPage(browser, problems, limits ? { limits } : {});

  before(async () => {
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
  });

  it('shows each frame as its entry: the welcome, chat lines with nick and time, notices, renames, errors', async () => {
    const page = await open();
    assert.match(await page.locator('#status').innerText(), /Connected · gw-fake/);
    const welcome = page.locator('#log li[data-kind="system"] .text');
    assert.equal(await welcome.innerText(), 'Welcome, me! Type /nick NAME to change your name.');

    await broadcast(page, { type: 'message', message: 'hello' });
    await broadcast(page, { type: 'message', message: 'still me', time: NOON + 60_000 });
    await broadcast(page, { type: 'notification', nickname: 'cy', id: 'id-cy', message: 'cy has connected', event: 'connected' });
    await broadcast(page, { type: 'nick_update', nickname: 'rob', previous: 'bob', message: 'Client bob changed to rob' });
    await server(page, 'frame', [
      { type: 'error', id: 'id-me', nickname: 'me', code: 'NICK_REQUIRED', message: 'Usage: /nick NAME (a name is required).' },
    ]);

    const entries = page.locator('#log li');
    const kinds = [];
    for (let i = 0; i < (await entries.count()); i++) kinds.push(await entries.nth(i).getAttribute('data-kind'));
    assert.deepEqual(kinds, ['system', 'message', 'message', 'notice', 'nick', 'error']);
    const first = entries.nth(1);
    assert.equal(await first.locator('.who').innerText(), 'bob');
    assert.equal(await first.locator('.text').innerText(), 'hello');
    assert.equal(await first.locator('time').innerText(), '12:03');
    assert.equal(await first.locator('time').getAttribute('datetime'), '2026-01-01T12:03:04.000Z');
    assert.equal(await first.locator('time').getAttribute('title'), '1 Jan 2026, 12:03:04');
    assert.match(
      (await entries.nth(2).getAttribute('class')) ?? '',
      /entry--cont/,
      'a second line from one sender within two minutes shares the heading',
    );
    assert.equal(await entries.nth(2).locator('time').textContent(), '12:04', 'its time is there, if not shown');
    assert.equal(await entries.nth(3).getAttribute('data-event'), 'connected');
    assert.equal(await entries.nth(3).locator('.text').innerText(), 'cy has connected');
    assert.equal(await entries.nth(4).locator('.text').innerText(), 'Client bob changed to rob');
    assert.equal(await entries.nth(5).locator('.text').innerText(), 'Usage: /nick NAME (a name is required).');
    assert.equal(await page.locator('#hint').innerText(), 'Usage: /nick NAME (a name is required).');
    await page.context().close();
    assert.deepEqual(problems, []);
  });

  it('inserts user text as text: markup in names and lines shows as typed and runs nothing', async () => {
    const page = await open();
    await broadcast(page, { type: 'message', nickname: XSS, message: XSS });
    const line = page.locator('#log li[data-kind="message"]');
    await line.waitFor({ timeout: WAIT_MS });
    assert.equal(await line.locator('.who').innerText(), XSS);
    assert.equal(await line.locator('.text').innerText(), XSS);
    assert.equal(await page.locator('#log img, #log script').count(), 0);
    assert.equal(await page.evaluate('window.__pwned'), undefined);
    await page.context().close();
    assert.deepEqual(problems, []);
  });

  it('holds lines to the limits the gateway announced: byte counter, refusal that keeps the line and the connection, nickname length', async () => {
    const limits: ClientLimits = { maxMessageBytes: 120, messageRatePerSec: 20, messageBurst: 40, maxNicknameLength: 10 };
    const page = await open(limits);
    assert.equal(await page.locator('#nick').getAttribute('maxlength'), '10');

    const tooLong = 'x'.repeat(100); // 100 bytes typed, more with the JSON and ref around it
    await page.locator('#text').fill(tooLong);
    const counter = page.locator('#counter');
    assert.equal(await counter.isVisible(), true);
    assert.match(await counter.innerText(), /^\d+\/120$/);
    assert.match((await counter.getAttribute('class')) ?? '', /\bover\b/);
    await page.locator('#text').press('Enter');
    assert.match(await page.locator('#hint').innerText(), /over the server's limit of 120; nothing was sent/);
    assert.equal(await page.locator('#text').inputValue(), tooLong, 'the line is kept to be shortened');
    assert.deepEqual(await server(page, 'sent', []), [], 'nothing was sent');
    assert.equal(await page.locator('#status').getAttribute('data-state'), 'open');

    await page.locator('#text').fill('short');
    assert.equal(await counter.isVisible(), false);
    await page.locator('#text').press('Enter');
    const own = page.locator('#log li[data-kind="message"]').filter({ hasText: 'short' });
    await own.waitFor({ timeout: WAIT_MS });
    assert.match((await own.getAttribute('class')) ?? '', /entry--own/);
    assert.equal(await page.locator('#hint').innerText(), '');
    await page.context().close();
    assert.deepEqual(problems, []);
  });

  it('counts against the protocol default (512 bytes) when the gateway announces no limits', async () => {
    const page = await open();
    await page.locator('#text').fill('z'.repeat(480));
    assert.match(await page.locator('#counter').innerText(), /^\d+\/512$/);
    await page.context().close();
    assert.deepEqual(problems, []);
  });

  it('says the person may have missed messages when events were skipped, and shows a refused rename', async () => {
    const page = await open();
    await broadcast(page, { type: 'message', message: 'one' });
    await server(page, 'nextSeq', []);
    await broadcast(page, { type: 'message', message: 'after a gap' });
    await page.locator('#log li[data-kind="system"]').filter({ hasText: 'you may have missed messages' }).waitFor({ timeout: WAIT_MS });

    await server(page, 'refuseNext', ['NICK_INVALID', 'Nicknames cannot contain control characters.']);
    await page.locator('#nick').fill('fine');
    await page.locator('#nick').press('Enter');
    await page
      .locator('#log li[data-kind="error"]')
      .filter({ hasText: 'Nicknames cannot contain control characters.' })
      .waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('#hint').innerText(), 'Nicknames cannot contain control characters.');
    await page.context().close();
    assert.deepEqual(problems, []);
  });
});

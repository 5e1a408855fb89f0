import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ERROR_SENTENCES } from '@switchboard/protocol';
import { ChatClient, GatewayProcess, RedisServer, eventually } from '@switchboard/testkit';
import { accessibilityViolations } from './accessibility.js';
import { WAIT_MS, entry, launchChromium, openConnected, say, waitState } from './page-steps.js';

const SHOTS = fileURLToPath(new URL('../../../test-output/browser/', import.meta.url));

/** The member list shows exactly `names` (own name marked "(you)"), in order. */
async function members(page: Page, names: string[]): Promise<void> {
  const shown = "JSON.stringify([...document.querySelectorAll('#members li')].map((li) => li.textContent))";
  await page.waitForFunction(`${shown} === ${JSON.stringify(JSON.stringify(names))}`, undefined, { timeout: WAIT_MS });
}

async function rename(page: Page, name: string): Promise<void> {
  await page.locator('#nick').fill(name);
  await page.locator('#nick').press('Enter');
  await entry(page, 'nick', new RegExp(`changed to ${name}$`));
}

async function joinRoom(page: Page, room: string): Promise<void> {
  await page.locator('#room').fill(room);
  await page.locator('#room').press('Enter');
  await page
    .locator('#room-name')
    .filter({ hasText: `#${room.replace(/^#/, '').toLowerCase()}` })
    .waitFor({ timeout: WAIT_MS });
}

/** Wait until the people list says `n` are in `room`, and its count in the rooms list says the same. */
async function counts(page: Page, room: string, n: number): Promise<void> {
  const shown = `JSON.stringify([document.querySelector('#people-title').textContent, document.querySelector('#rooms button[data-room="${room}"] .count')?.textContent])`;
  const want = JSON.stringify([`${n === 1 ? '1 person' : `${n} people`} in #${room}`, String(n)]);
  // page.evaluate, not waitForFunction: the page's CSP forbids the eval that waitForFunction would need.
  await eventually(
    async () => {
      assert.equal(await page.evaluate<string>(shown), want);
      return true;
    },
    { timeoutMs: WAIT_MS, what: `${want} on the page` },
  );
}

/** Wait for the chat line whose text is exactly `text`. */
async function said(page: Page, text: string): Promise<void> {
  await page
    .locator('#log li[data-kind="message"] .text')
    .filter({ hasText: new RegExp(`^${text}$`) })
    .first()
    .waitFor({ timeout: WAIT_MS });
}

/** The message list as `kind(history):text` lines, dividers as `divider:text`. */
async function logShape(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(`[...document.querySelectorAll('#log li')].map((li) =>
    li.dataset.divider !== undefined
      ? 'divider:' + li.textContent
      : li.dataset.kind + (li.dataset.history ? '(history)' : '') + ':' + li.querySelector('.text').textContent)`);
}

/**
 * The page's rooms in Chromium against two real gateways over a real
 * redis-server: switching rooms, the live member list across nodes, history on
 * join, unique names, and a reload that keeps the room. (Needs the gateway's
 * side of rooms.)
 */
describe('the chat page with rooms, across two gateways', () => {
  let redis: RedisServer;
  let nodeA: GatewayProcess;
  let nodeB: GatewayProcess;
  let browser: Browser;
  const problems: string[] = [];

  const open = (node: GatewayProcess): Promise<Page> =>
    openConnected(browser, node.httpUrl, problems, { viewport: { width: 1100, height: 720 } });

  before(async () => {
    redis = await RedisServer.start();
    nodeA = await GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: 'rooms-web-a' } });
    nodeB = await GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: 'rooms-web-b' } });
    browser = await launchChromium();
    await mkdir(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await Promise.all([nodeA?.kill(), nodeB?.kill()]);
    await redis?.stop();
  });

  it('moves two people on two nodes into a room: header, live member list, lines of that room only', async () => {
    const ada = await open(nodeA);
    const bea = await open(nodeB);
    assert.equal(await ada.locator('#room-name').innerText(), '#lobby');
    await rename(ada, 'ada');
    await rename(bea, 'bea');

    await joinRoom(ada, '#Garden');
    await entry(bea, 'notice', /ada has left/);
    await members(ada, ['ada (you)']);
    await say(bea, '/join garden');
    await bea.locator('#room-name').filter({ hasText: '#garden' }).waitFor({ timeout: WAIT_MS });
    await entry(ada, 'notice', /bea has joined/);
    await members(ada, ['ada (you)', 'bea']);
    await members(bea, ['ada', 'bea (you)']);
    await ada.locator('#rooms button[data-room="garden"]').waitFor({ timeout: WAIT_MS });

    await say(ada, 'hello garden');
    await entry(bea, 'message', /hello garden/);
    await ada.screenshot({ path: `${SHOTS}rooms-desktop.png` });

    await say(bea, '/join lobby');
    await entry(ada, 'notice', /bea has left/);
    await members(ada, ['ada (you)']);
    await say(bea, 'only for the lobby');
    await entry(bea, 'message', /only for the lobby/);
    await say(ada, 'barrier in garden');
    await entry(ada, 'message', /barrier in garden/);
    assert.equal(await ada.locator('#log li[data-kind="message"]').filter({ hasText: 'only for the lobby' }).count(), 0);
    await Promise.all([ada.context().close(), bea.context().close()]);
    assert.deepEqual(problems, []);
  });

  it('answers /help and /bogus to the one who typed them: the other page sees neither', async () => {
    const ada = await open(nodeA);
    const bea = await open(nodeB);
    await say(ada, '/help');
    await entry(ada, 'system', /\/join ROOM/);
    await say(ada, '/bogus thing');
    await ada.locator('#hint').filter({ hasText: 'Unknown command /bogus' }).waitFor({ timeout: WAIT_MS });
    assert.equal(await ada.locator('#text').inputValue(), '/bogus thing', 'the refused text is kept to be corrected');
    await say(ada, 'after the commands');
    await entry(bea, 'message', /after the commands/);
    const seen = await bea.locator('#log li').allTextContents();
    assert.deepEqual(
      seen.filter((text) => /\/help|\/bogus|Commands:|Unknown command/.test(text)),
      [],
      'nothing of /help or /bogus reached the other page',
    );
    await Promise.all([ada.context().close(), bea.context().close()]);
    assert.deepEqual(problems, []);
  });

  it('shows the recent lines of a room set apart when joining it, then the live ones', async () => {
    const cy = await open(nodeA);
    await joinRoom(cy, 'archive');
    for (const text of ['first of old', 'second of old']) await say(cy, text);
    await entry(cy, 'message', /second of old/);

    const dee = await open(nodeB);
    await joinRoom(dee, 'archive');
    await dee.locator('#log li[data-divider="earlier"]').filter({ hasText: 'Earlier in #archive' }).waitFor({ timeout: WAIT_MS });
    const earlier = dee.locator('#log li[data-history="true"][data-room="archive"]');
    await earlier.filter({ hasText: 'second of old' }).waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await earlier.locator('.text').allInnerTexts(), ['first of old', 'second of old']);
    await say(cy, 'new since dee came');
    const live = await entry(dee, 'message', /new since dee came/);
    assert.equal(await live.getAttribute('data-history'), null);
    await dee.locator('#log li[data-divider="now"]').last().waitFor({ timeout: WAIT_MS });
    await Promise.all([cy.context().close(), dee.context().close()]);
    assert.deepEqual(problems, []);
  });

  it('shows the conversation again after a reload: the lines it showed as earlier ones, then those it missed, each once', async () => {
    const bea = await open(nodeB);
    await joinRoom(bea, 'recall');
    await say(bea, 'before ada came');
    await entry(bea, 'message', /before ada came/);
    const ada = await open(nodeA);
    await joinRoom(ada, 'recall');
    await entry(ada, 'message', /before ada came/);
    await say(bea, 'one');
    await said(ada, 'one');
    await say(ada, 'two');
    await said(bea, 'two');

    await ada.goto('about:blank');
    await say(bea, 'missed during the reload');
    await entry(bea, 'message', /missed during the reload/);
    await ada.goto(nodeA.httpUrl);
    await waitState(ada, 'open');
    await entry(ada, 'message', /missed during the reload/);
    assert.deepEqual(await logShape(ada), [
      'divider:Earlier in #recall',
      'message(history):before ada came',
      'message(history):one',
      'message(history):two',
      'divider:Now',
      'message:missed during the reload',
    ]);

    // Again, with nothing missed: the same lines, each once; the next line is live.
    await ada.reload();
    await waitState(ada, 'open');
    await ada.locator('#log li[data-history="true"]').nth(3).waitFor({ timeout: WAIT_MS });
    await say(bea, 'after the second reload');
    await entry(ada, 'message', /after the second reload/);
    assert.deepEqual(await logShape(ada), [
      'divider:Earlier in #recall',
      'message(history):before ada came',
      'message(history):one',
      'message(history):two',
      'message(history):missed during the reload',
      'divider:Now',
      'message:after the second reload',
    ]);
    await Promise.all([ada.context().close(), bea.context().close()]);
    assert.deepEqual(
      problems.filter((p) => !p.includes('WebSocket')),
      [],
    );
  });

  it("keeps its room's count equal to the people list, and follows the other rooms, as people come and go on the other node", async () => {
    const page = await open(nodeA);
    await joinRoom(page, 'census');
    await counts(page, 'census', 1);
    const [c1, c2] = await Promise.all([ChatClient.connect(nodeB.wsUrl), ChatClient.connect(nodeB.wsUrl)]);
    try {
      c1.send('/join census');
      await counts(page, 'census', 2);
      c2.send('/join census');
      await counts(page, 'census', 3);
      c1.send('/join elsewhere');
      await counts(page, 'census', 2);
      // The page hears no notice of #elsewhere: it asks for the rooms again, at a bounded rate.
      await page.locator('#rooms button[data-room="elsewhere"] .count').filter({ hasText: /^1$/ }).waitFor({ timeout: WAIT_MS });
      await c2.close();
      await counts(page, 'census', 1);
    } finally {
      await Promise.all([c1.close(), c2.close()]);
    }
    await page.context().close();
    assert.deepEqual(problems, []);
  });

  it('breaks no WCAG 2.1 AA rule that axe-core checks, in light and dark mode, on a desktop and on a phone with its side panel open', async () => {
    const host = await open(nodeB);
    await rename(host, 'host');
    await joinRoom(host, 'audit');
    await say(host, 'said before the audit');
    await entry(host, 'message', /said before the audit/);
    const page = await open(nodeA);
    await rename(page, 'auditor');
    await joinRoom(page, 'audit');
    // Every kind of entry: earlier lines, the dividers, own and others' lines, notices, a rename, an error.
    await page.locator('#log li[data-history="true"]').first().waitFor({ timeout: WAIT_MS });
    await say(page, 'an own line');
    await say(host, 'a line from someone else');
    await entry(page, 'message', /a line from someone else/);
    await say(host, '/nick host2');
    await entry(page, 'nick', /changed to host2$/);
    await say(page, '/nick HOST2');
    await entry(page, 'error', new RegExp(escapeRegExp(ERROR_SENTENCES.NICK_TAKEN.slice(0, 24))));
    await members(page, ['auditor (you)', 'host2']);
    await page.locator('#rooms button[data-room="audit"]').waitFor({ timeout: WAIT_MS });

    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      assert.deepEqual(await accessibilityViolations(page), [], `desktop, ${colorScheme}`);
    }
    await page.setViewportSize({ width: 390, height: 760 });
    await page.locator('#people-toggle').click();
    await page.locator('#side[data-open="true"]').waitFor({ timeout: WAIT_MS });
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      assert.deepEqual(await accessibilityViolations(page), [], `phone, ${colorScheme}`);
    }
    await Promise.all([host.context().close(), page.context().close()]);
    assert.deepEqual(problems, []);
  });

  it('refuses a name another page holds on the other node, whatever its case, and says so clearly', async () => {
    const first = await open(nodeA);
    const second = await open(nodeB);
    await rename(first, 'Unique');
    await second.locator('#nick').fill('unique');
    await second.locator('#nick').press('Enter');
    await entry(second, 'error', new RegExp(escapeRegExp(ERROR_SENTENCES.NICK_TAKEN.slice(0, 24))));
    assert.equal(await second.locator('#nick').getAttribute('aria-invalid'), 'true');
    assert.equal(await second.locator('#hint').innerText(), ERROR_SENTENCES.NICK_TAKEN);
    await Promise.all([first.context().close(), second.context().close()]);
    assert.deepEqual(problems, []);
  });

  it('keeps its room across a reload: the session resumes in the room, with the lines sent meanwhile', async () => {
    const page = await open(nodeA);
    const other = await open(nodeB);
    await joinRoom(page, 'stay');
    await joinRoom(other, 'stay');
    await page.goto('about:blank');
    await say(other, 'said in #stay during the reload');
    await entry(other, 'message', /said in #stay during the reload/);
    await page.goto(nodeA.httpUrl);
    await waitState(page, 'open');
    await page.locator('#room-name').filter({ hasText: '#stay' }).waitFor({ timeout: WAIT_MS });
    await entry(page, 'message', /said in #stay during the reload/);
    await Promise.all([page.context().close(), other.context().close()]);
    assert.deepEqual(
      problems.filter((p) => !p.includes('WebSocket')),
      [],
    );
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

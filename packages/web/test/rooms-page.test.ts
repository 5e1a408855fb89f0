import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ERROR_SENTENCES } from '@switchboard/protocol';
import { GatewayProcess, RedisServer } from '@switchboard/testkit';
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

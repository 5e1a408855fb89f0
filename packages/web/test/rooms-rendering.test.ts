import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ERROR_SENTENCES } from '@switchboard/protocol';
import { NOON, WAIT_MS, launchChromium, openPage, sentFrames, server, type OpenOptions } from './fake-gateway-page.js';

const SHOTS = fileURLToPath(new URL('../../../test-output/browser/', import.meta.url));
const XSS = '<img src=x onerror="window.__pwned=1">';
const bob = { id: 'id-bob', nickname: 'bob' };
const cy = { id: 'id-cy', nickname: 'cy' };

/** Wait until the member list shows exactly `names`. */
async function waitMembers(page: Page, names: string[]): Promise<void> {
  const shown = "JSON.stringify([...document.querySelectorAll('#members li')].map((li) => li.textContent))";
  await page.waitForFunction(`${shown} === ${JSON.stringify(JSON.stringify(names))}`, undefined, { timeout: WAIT_MS });
}

/** The kinds of the log's items, dividers as `divider:earlier` / `divider:now`, history entries as `KIND(history)`. */
async function logShape(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(`[...document.querySelectorAll('#log > li')].map((li) =>
    li.dataset.divider ? 'divider:' + li.dataset.divider : (li.dataset.kind ?? '?') + (li.dataset.history ? '(history)' : ''))`);
}

/** The `data-room` of each button in the rooms list, in order. */
async function listedRooms(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(`[...document.querySelectorAll('#rooms button[data-room]')].map((b) => b.dataset.room)`);
}

/** A computed style of the first element `selector` finds. */
async function styleOf(page: Page, selector: string, property: string): Promise<string> {
  return page.evaluate(`getComputedStyle(document.querySelector(${JSON.stringify(selector)})).${property}`);
}

/**
 * The page's rooms in real Chromium against the fake gateway (with rooms): the
 * member list, the room switcher, history set apart, typed commands and a taken
 * nickname. The real-gateway version is rooms-page.test.ts.
 */
describe('the chat page with rooms, on a fake gateway', () => {
  let browser: Browser;
  const problems: string[] = [];
  const open = (options: OpenOptions = {}) => openPage(browser, problems, { room: 'lobby', ...options });

  before(async () => {
    browser = await launchChromium();
    await mkdir(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
  });

  it('lists the people of the room and keeps the list live: joins, leaves, renames; asks again after a summary', async () => {
    const page = await open({ before: (p) => server(p, 'people', ['lobby', [bob, cy]]).then(() => undefined) });
    await waitMembers(page, ['bob', 'cy', 'me (you)']);
    assert.equal(await page.locator('#people-title').textContent(), '3 people in #lobby');
    assert.equal(await page.locator('#room-name').innerText(), '#lobby');
    assert.match(await page.title(), /^#lobby · Switchboard$/);

    await server(page, 'broadcast', [
      { type: 'notification', room: 'lobby', id: 'id-dee', nickname: XSS, message: `${XSS} has joined`, event: 'joined' },
    ]);
    await waitMembers(page, [XSS, 'bob', 'cy', 'me (you)']);
    assert.equal(await page.locator('#members img').count(), 0, 'names are text');
    await server(page, 'broadcast', [{ type: 'notification', room: 'lobby', ...cy, message: 'cy has left', event: 'left' }]);
    await server(page, 'broadcast', [
      { type: 'nick_update', room: 'lobby', ...bob, nickname: 'rob', previous: 'bob', message: 'Client bob changed to rob' },
    ]);
    await server(page, 'broadcast', [
      { type: 'notification', room: 'lobby', id: 'id-dee', nickname: XSS, message: 'x', event: 'disconnected' },
    ]);
    await waitMembers(page, ['me (you)', 'rob']);
    assert.equal(await page.locator('#people-title').textContent(), '2 people in #lobby');
    await page.locator('#log li[data-event="left"]').filter({ hasText: 'cy has left' }).waitFor({ timeout: WAIT_MS });

    const whos = async () => (await sentFrames(page)).filter((f) => f.type === 'who').length;
    const before = await whos();
    await server(page, 'broadcast', [
      { type: 'notification', room: 'lobby', id: '', nickname: '', message: '12 people joined', event: 'summary', joined: 12, left: 0 },
    ]);
    await page.waitForFunction(
      (n) => (globalThis as unknown as { __server: { sent(): string[] } }).__server.sent().filter((t) => t.includes('"who"')).length > n,
      before,
      {
        timeout: WAIT_MS,
      },
    );
    await page.locator('#log li[data-event="summary"]').filter({ hasText: '12 people joined' }).waitFor({ timeout: WAIT_MS });
    await page.context().close();
    assert.deepEqual(problems, []);
  });

  it('switches rooms by name and from the list of rooms: header, log, people and rooms follow; a bad name is refused at once', async () => {
    const page = await open({
      before: async (p) => {
        await server(p, 'people', ['dev', [bob]]);
        await server(p, 'people', ['lobby', [cy]]);
      },
    });
    await page.locator('#rooms button[data-room="dev"]').waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await listedRooms(page), ['lobby', 'dev']);
    assert.equal(await page.locator('#rooms button[data-room="lobby"]').getAttribute('aria-current'), 'true');

    await page.locator('#room').fill('no/slash');
    await page.locator('#room').press('Enter');
    assert.equal(await page.locator('#hint').innerText(), ERROR_SENTENCES.ROOM_INVALID);
    assert.equal(await page.locator('#room').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('#room').inputValue(), 'no/slash', 'kept to be corrected');
    assert.ok(!(await sentFrames(page)).some((f) => f.type === 'join'), 'nothing was sent');

    await page.locator('#room').fill('#Dev');
    await page.locator('#room').press('Enter');
    await page.locator('#room-name').filter({ hasText: '#dev' }).waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('#room').getAttribute('aria-invalid'), null);
    assert.equal(await page.locator('#room').inputValue(), '');
    await page.locator('#log li[data-event="joined"]').filter({ hasText: 'You are in #dev.' }).waitFor({ timeout: WAIT_MS });
    await waitMembers(page, ['bob', 'me (you)']);
    assert.equal(await page.locator('#people-title').textContent(), '2 people in #dev');
    await page.locator('#rooms button[data-room="dev"][aria-current="true"]').waitFor({ timeout: WAIT_MS });
    assert.match(await page.title(), /^#dev · /);

    // Back to the lobby from the list.
    await page.locator('#rooms button[data-room="lobby"]').click();
    await page.locator('#room-name').filter({ hasText: '#lobby' }).waitFor({ timeout: WAIT_MS });
    await waitMembers(page, ['cy', 'me (you)']);
    assert.deepEqual(
      (await sentFrames(page)).filter((f) => f.type === 'join').map((f) => f.room),
      ['dev', 'lobby'],
    );

    // A join the server refuses: said in the list and the hint; the page stays where it is.
    await server(page, 'refuseNext', ['ROOM_LIMIT', ERROR_SENTENCES.ROOM_LIMIT]);
    await page.locator('#room').fill('one-too-many');
    await page.locator('#room').press('Enter');
    await page.locator('#log li[data-kind="error"]').filter({ hasText: ERROR_SENTENCES.ROOM_LIMIT }).waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('#hint').innerText(), ERROR_SENTENCES.ROOM_LIMIT);
    assert.equal(await page.locator('#room-name').innerText(), '#lobby');
    await page.context().close();
    assert.deepEqual(problems, []);
  });

  it('sets the recent lines of a room apart: a divider, muted "earlier" lines, then a "Now" divider before the live ones', async () => {
    const page = await open({
      before: async (p) => {
        await server(p, 'people', ['dev', [bob]]);
        await server(p, 'history', [
          'dev',
          [
            { type: 'message', ...bob, message: 'said before you came', time: NOON - 60_000 },
            { type: 'message', ...bob, message: XSS, time: NOON - 30_000 },
          ],
        ]);
      },
    });
    await page.locator('#text').fill('/join dev');
    await page.locator('#text').press('Enter');
    const earlier = page.locator('#log li[data-history="true"]');
    await earlier.nth(1).waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('#log li[data-divider="earlier"]').textContent(), 'Earlier in #dev');
    assert.equal(await earlier.nth(1).locator('.text').innerText(), XSS, 'history is text too');
    assert.equal(await page.locator('#log img').count(), 0);
    const muted = await styleOf(page, '#log li[data-history="true"] .text', 'color');
    assert.notEqual(muted, await styleOf(page, 'body', 'color'), `earlier lines are muted (${muted})`);
    assert.equal(await styleOf(page, '#log li[data-history="true"]', 'opacity'), '1', 'not faded: their contrast stays AA');

    await server(page, 'broadcast', [{ type: 'message', room: 'dev', ...bob, message: 'live now' }]);
    await page.locator('#log li[data-kind="message"]').filter({ hasText: 'live now' }).waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await logShape(page), [
      'system',
      'system',
      'divider:earlier',
      'message(history)',
      'message(history)',
      'divider:now',
      'message',
    ]);
    assert.equal(await page.locator('#log li[data-divider="now"]').textContent(), 'Now');
    await page.screenshot({ path: `${SHOTS}rooms-history-desktop.png` });
    await page.context().close();
    assert.deepEqual(problems, []);
  });

  it('takes /join, /who and /rooms typed in the message box, and shows their answers', async () => {
    const page = await open({ before: (p) => server(p, 'people', ['ops', [cy]]).then(() => undefined) });
    for (const line of ['/join #ops', '/who', '/rooms']) {
      await page.locator('#text').fill(line);
      await page.locator('#text').press('Enter');
      assert.equal(await page.locator('#text').inputValue(), '', `${line}: the box is emptied`);
    }
    await page.locator('#log li[data-event="members"]').filter({ hasText: '2 in #ops: cy, me' }).waitFor({ timeout: WAIT_MS });
    await page.locator('#log li[data-event="rooms"]').filter({ hasText: 'Rooms: #ops (2)' }).waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('#room-name').innerText(), '#ops');
    const typed = (await sentFrames(page)).filter((f) => f.type !== 'message').map(({ ref: _ref, ...rest }) => rest);
    assert.ok(
      typed.some((f) => f.type === 'join' && f.room === 'ops'),
      `a typed join frame, not a chat line: ${JSON.stringify(typed)}`,
    );
    assert.ok(!(await sentFrames(page)).some((f) => f.type === 'message'), 'no command went out as a chat line');
    await page.context().close();
    assert.deepEqual(problems, []);
  });

  it('shows a taken nickname clearly: the refusal in the list and the hint, and the field marked until edited', async () => {
    const page = await open();
    await server(page, 'refuseNext', ['NICK_TAKEN', ERROR_SENTENCES.NICK_TAKEN]);
    await page.locator('#nick').fill('Bob');
    await page.locator('#nick').press('Enter');
    await page.locator('#log li[data-kind="error"]').filter({ hasText: ERROR_SENTENCES.NICK_TAKEN }).waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('#hint').innerText(), ERROR_SENTENCES.NICK_TAKEN);
    assert.equal(await page.locator('#nick').getAttribute('aria-invalid'), 'true');
    await page.locator('#nick').fill('bobby');
    assert.equal(await page.locator('#nick').getAttribute('aria-invalid'), null);
    await page.locator('#nick').press('Enter');
    await page.locator('#log li[data-kind="nick"]').filter({ hasText: 'changed to bobby' }).waitFor({ timeout: WAIT_MS });
    await waitMembers(page, ['bobby (you)']);
    await page.context().close();
    assert.deepEqual(problems, []);
  });

  it('fits a phone in dark mode: the people and rooms open over the messages from the header', async () => {
    const page = await open({
      context: { viewport: { width: 390, height: 760 }, colorScheme: 'dark' },
      before: (p) => server(p, 'people', ['lobby', [bob, cy]]).then(() => undefined),
    });
    await waitMembers(page, ['bob', 'cy', 'me (you)']);
    const side = page.locator('#side');
    assert.equal(await side.isVisible(), false, 'the panel is closed on a phone');
    await page.locator('#people-toggle').click();
    assert.equal(await side.isVisible(), true);
    assert.equal(await page.locator('#people-toggle').getAttribute('aria-expanded'), 'true');
    const background = await styleOf(page, 'body', 'backgroundColor');
    assert.equal(background, 'rgb(18, 20, 23)', 'dark mode');
    const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
    assert.ok(width <= 390, `no sideways scrolling (page is ${width}px wide)`);
    await page.screenshot({ path: `${SHOTS}rooms-phone-dark.png` });
    await page.locator('#rooms button[data-room="lobby"]').waitFor({ timeout: WAIT_MS });
    await page.context().close();
    assert.deepEqual(problems, []);
  });
});

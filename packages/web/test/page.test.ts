import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { GatewayProcess, LocalCluster, RedisServer, freePort, makeTestCertificates, type TestCertificates } from '@switchboard/testkit';
import {
  WAIT_MS,
  deliveryRecord,
  entry,
  launchChromium,
  openConnected,
  recordDelivery,
  recordProblems,
  say,
  waitState,
} from './page-steps.js';

const SHOTS = fileURLToPath(new URL('../../../test-output/browser/', import.meta.url));
/**
 * Protocol v2 keeps a dropped session this long (ms) before the others hear the
 * leave: long enough for a node restart and a reload, short enough to see a
 * closed tab announced within a test.
 */
const GRACE = { RESUME_GRACE_MS: '5000', SWEEP_INTERVAL_MS: '250' };
const LEAVE_WAIT_MS = 30_000;
const XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';

/**
 * The chat page in real headless Chromium, two pages on two gateways of one
 * cluster (a real redis-server between them).
 */
describe('the chat page in Chromium, across two gateways', () => {
  let redis: RedisServer;
  let nodeA: GatewayProcess;
  let nodeB: GatewayProcess;
  let portB: number;
  let browser: Browser;
  const problems: string[] = [];

  const startB = () => GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: 'web-b', PORT: String(portB), ...GRACE } });

  /** A page in its own context (its own storage), on `node`, failing the test on any script error. */
  const open = (node: GatewayProcess, viewport = { width: 1100, height: 720 }): Promise<Page> =>
    openConnected(browser, node.httpUrl, problems, { viewport });

  before(async () => {
    redis = await RedisServer.start();
    portB = await freePort();
    nodeA = await GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: 'web-a', ...GRACE } });
    nodeB = await startB();
    browser = await launchChromium();
    await mkdir(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await Promise.all([nodeA?.kill(), nodeB?.kill()]);
    await redis?.stop();
  });

  it('lets two people on two nodes chat, rename, and see each other leave; user text stays text', async () => {
    const ada = await open(nodeA);
    const bea = await open(nodeB);
    assert.match(await ada.locator('#status').innerText(), /Connected · web-a/);
    assert.match(await bea.locator('#status').innerText(), /Connected · web-b/);

    // Rename with the nickname field on one page, with /nick in the message box on the other.
    await ada.locator('#nick').fill('ada');
    await ada.locator('#nick').press('Enter');
    await entry(bea, 'nick', /changed to ada$/);
    await say(bea, '/nick bea');
    await entry(ada, 'nick', /changed to bea$/);
    // bea's field follows her own rename's answer, which may reach her page after ada's: wait for it, then read it.
    await bea.waitForFunction("document.querySelector('#nick').value === 'bea'", undefined, { timeout: WAIT_MS });
    assert.equal(await bea.locator('#nick').inputValue(), 'bea');

    // Chat both ways: the message list shows nickname, time and text.
    await say(ada, 'hello from node a');
    const line = await entry(bea, 'message', /hello from node a/);
    assert.equal(await line.locator('.who').innerText(), 'ada');
    assert.match((await line.locator('time').getAttribute('datetime')) ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.equal(await bea.locator('#text').inputValue(), '', 'the box is emptied after sending');
    await say(bea, 'hi ada, bea here');
    await entry(ada, 'message', /hi ada, bea here/);

    // Markup someone types is shown as the characters they typed, and runs nothing.
    await say(bea, XSS);
    const shown = await entry(ada, 'message', /onerror/);
    assert.equal(await shown.locator('.text').innerText(), XSS);
    assert.equal(await ada.locator('#log img, #log script').count(), 0);
    assert.equal(await ada.evaluate('window.__pwned'), undefined);
    assert.equal(await bea.evaluate('window.__pwned'), undefined);

    await ada.screenshot({ path: `${SHOTS}chat-desktop.png` });

    // bea closes her tab: ada, on the other node, is told once the grace period for a resume has passed.
    await bea.context().close();
    const left = await entry(ada, 'notice', /bea has disconnected/, LEAVE_WAIT_MS);
    assert.equal(await left.getAttribute('data-event'), 'disconnected');
    await ada.context().close();
    assert.deepEqual(problems, []);
  });

  it('reads well on a phone-sized screen and is driven by keyboard alone', async () => {
    const phone = await open(nodeA, { width: 390, height: 760 });
    await phone.keyboard.type('typed without a mouse');
    await phone.keyboard.press('Enter');
    await entry(phone, 'message', /typed without a mouse/);
    await phone.keyboard.press('ArrowUp');
    assert.equal(await phone.locator('#text').inputValue(), 'typed without a mouse', 'Up recalls the last line');
    await phone.keyboard.press('Escape');
    assert.equal(await phone.locator('#text').inputValue(), '');
    const width = Number(await phone.evaluate('document.documentElement.scrollWidth'));
    assert.ok(width <= 390, `no sideways scrolling (page is ${width}px wide)`);
    await phone.screenshot({ path: `${SHOTS}chat-phone.png` });
    await phone.context().close();
    assert.deepEqual(problems, []);
  });

  it('shows a line pending until its node acknowledges it; sent while the node is paused, "not sent yet, retrying", then sent once it is back', async () => {
    // Playwright's clock in this page: the SDK's bounds (5 s to a resend, 15 s to "retrying" and a reconnect) pass at once.
    const context = await browser.newContext();
    await context.clock.install();
    const page = await context.newPage();
    recordProblems(page, problems);
    await page.goto(nodeA.httpUrl);
    await waitState(page, 'open');
    const other = await open(nodeB);
    await recordDelivery(page);

    await say(page, 'acknowledged at once');
    await page
      .locator('#log li[data-kind="message"]:not([data-delivery])')
      .filter({ hasText: 'acknowledged at once' })
      .waitFor({ timeout: WAIT_MS });
    await entry(other, 'message', /acknowledged at once/);

    // The node stops answering (SIGSTOP): its socket stays open, nothing comes back.
    const pid = nodeA.pid;
    assert.ok(pid !== undefined);
    process.kill(pid, 'SIGSTOP');
    try {
      await say(page, 'sent while the node is paused');
      const line = page.locator('#log li[data-kind="message"]').filter({ hasText: 'sent while the node is paused' });
      await line.waitFor({ timeout: WAIT_MS });
      assert.equal(await line.getAttribute('data-delivery'), 'pending');
      await page.clock.fastForward(5_000);
      await page.clock.fastForward(10_000);
      await page.locator('#log li[data-delivery="retrying"]').waitFor({ timeout: WAIT_MS });
      assert.equal(await line.locator('.delivery').innerText(), 'not sent yet, retrying');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // The SDK closed the silent connection and reconnects (its backoff passes at once): the session resumes, the line is acknowledged.
    await page.clock.fastForward(2_000);
    await page
      .locator('#log li[data-kind="message"]:not([data-delivery])')
      .filter({ hasText: 'sent while the node is paused' })
      .waitFor({ timeout: WAIT_MS });
    await entry(other, 'message', /sent while the node is paused/);
    await say(other, 'marker after it');
    await entry(page, 'message', /marker after it/);
    for (const p of [page, other]) {
      assert.equal(
        await p.locator('#log li[data-kind="message"]').filter({ hasText: 'sent while the node is paused' }).count(),
        1,
        'shown once',
      );
    }
    assert.equal(await page.locator('#log li[data-kind="system"]').count(), 1, 'one welcome line: resumed, no "missed messages" notice');
    assert.deepEqual(
      (await deliveryRecord(page)).filter((r) => !r.includes('marker')),
      [
        'added acknowledged at once: pending (sending…)',
        'now acknowledged at once: acknowledged',
        'added sent while the node is paused: pending (sending…)',
        'now sent while the node is paused: retrying (not sent yet, retrying)',
        'now sent while the node is paused: acknowledged',
      ],
    );
    await Promise.all([page.context().close(), other.context().close()]);
    // The abandoned connection may make Chromium log a failed WebSocket; nothing else may fail.
    assert.deepEqual(
      problems.filter((p) => !p.includes('WebSocket')),
      [],
    );
  });

  it('shows it is reconnecting when its node dies, then resumes: same name, the lines it missed, no notices', async () => {
    const page = await open(nodeB);
    const other = await open(nodeA);
    await page.locator('#nick').fill('phoenix');
    await page.locator('#nick').press('Enter');
    await entry(page, 'nick', /changed to phoenix$/);
    await entry(other, 'nick', /changed to phoenix$/);

    await nodeB.kill();
    await waitState(page, 'reconnecting');
    assert.match(await page.locator('#status').innerText(), /Reconnecting/);
    assert.equal(await page.locator('#retry').innerText(), 'Retry now');
    await say(other, 'said while phoenix was away');
    await entry(other, 'message', /said while phoenix was away/);
    nodeB = await startB();
    // "Retry now" skips what is left of the backoff; clicked from script, as the
    // page may already be back (button hidden), where it does nothing.
    await page.evaluate("document.getElementById('retry').click()");
    await waitState(page, 'open');
    await entry(page, 'message', /said while phoenix was away/);
    await say(page, 'phoenix is back');
    await entry(other, 'message', /phoenix is back/);
    assert.equal(await page.locator('#nick').inputValue(), 'phoenix');
    assert.equal(await page.locator('#log li[data-kind="nick"]').count(), 1, 'the session kept its name: no rename after the resume');
    assert.equal(await page.locator('#log li[data-kind="system"]').count(), 1, 'one welcome line, no "missed messages" notice');
    assert.equal(
      await other
        .locator('#log li[data-kind="notice"]')
        .filter({ hasText: /phoenix has/ })
        .count(),
      0,
      'no disconnect or connect notice',
    );
    await Promise.all([page.context().close(), other.context().close()]);
    // The dropped connection makes Chromium log one failed WebSocket; nothing else may fail.
    assert.deepEqual(
      problems.filter((p) => !p.includes('WebSocket')),
      [],
    );
  });

  it('keeps its session across a reload: same name, the lines sent meanwhile, no notices for the others', async () => {
    const page = await open(nodeA);
    const other = await open(nodeB);
    await page.locator('#nick').fill('reloader');
    await page.locator('#nick').press('Enter');
    await entry(other, 'nick', /changed to reloader$/);

    // Leave the page (its socket closes as a tab's does), talk meanwhile, then come back in the same tab.
    await page.goto('about:blank');
    await say(other, 'said during the reload');
    await entry(other, 'message', /said during the reload/);
    await page.goto(nodeA.httpUrl);
    await waitState(page, 'open');
    await entry(page, 'message', /said during the reload/);
    assert.equal(await page.locator('#nick').inputValue(), 'reloader');
    assert.equal(await page.locator('#log li[data-kind="system"]').count(), 0, 'no welcome line and no "missed messages" notice');
    await say(page, 'back after the reload');
    const back = await entry(other, 'message', /back after the reload/);
    assert.equal(await back.locator('.who').innerText(), 'reloader');
    assert.equal(
      await other
        .locator('#log li[data-kind="notice"]')
        .filter({ hasText: /reloader has/ })
        .count(),
      0,
      'no disconnect or connect notice',
    );

    // A session that cannot be resumed (here: a forged token, once the real one has ended, so that its name
    // is free again: names are unique) says so, and takes the name back.
    await page.evaluate(`(() => {
      const saved = JSON.parse(sessionStorage.getItem('switchboard.session'));
      sessionStorage.setItem('switchboard.session', JSON.stringify({ ...saved, session: 'not-a-real-session-token' }));
    })()`);
    await page.goto('about:blank');
    await entry(other, 'notice', /reloader has disconnected/, LEAVE_WAIT_MS);
    await page.goto(nodeA.httpUrl);
    await waitState(page, 'open');
    await entry(page, 'system', /you may have missed messages/);
    await other
      .locator('#log li[data-kind="nick"]')
      .filter({ hasText: /changed to reloader$/ })
      .nth(1)
      .waitFor({ timeout: WAIT_MS });
    await Promise.all([page.context().close(), other.context().close()]);
    assert.deepEqual(
      problems.filter((p) => !p.includes('WebSocket')),
      [],
    );
  });

  it('gives two windows of one browser two sessions and two names, with no error; the second takes the name once the first has gone', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    const first = await context.newPage();
    recordProblems(first, problems);
    await first.goto(nodeA.httpUrl);
    await waitState(first, 'open');
    await first.locator('#nick').fill('solo');
    await first.locator('#nick').press('Enter');
    await entry(first, 'nick', /changed to solo$/);

    // The browser remembers "solo": the second window asks for it, and is told quietly that it is in use.
    const second = await context.newPage();
    recordProblems(second, problems);
    await second.goto(nodeA.httpUrl); // the same origin: one localStorage (as through the load balancer)
    await waitState(second, 'open');
    await entry(second, 'system', /^\d\d:\d\dsolo is in use elsewhere .* so you are AnonymousUser\d+ here for now\.$/);
    assert.match(await second.locator('#nick').inputValue(), /^AnonymousUser\d+$/);
    const sessions = await Promise.all(
      [first, second].map((page) => page.evaluate<string>("JSON.parse(sessionStorage.getItem('switchboard.session')).session")),
    );
    assert.notEqual(sessions[0], sessions[1], 'two sessions');
    await say(first, 'still solo here');
    const line = await entry(second, 'message', /still solo here/);
    assert.equal(await line.locator('.who').innerText(), 'solo');
    const noError = async (page: Page) => {
      assert.equal(await page.locator('#log li[data-kind="error"]').count(), 0, 'no error in the list');
      assert.equal(await page.locator('#nick').getAttribute('aria-invalid'), null, 'the name field is not marked');
      assert.equal(await page.locator('#hint').innerText(), '', 'no hint');
    };
    await noError(second);

    // The first window closes: once its session's grace has passed, the second takes the name.
    await first.close();
    await entry(second, 'notice', /solo has disconnected/, LEAVE_WAIT_MS);
    await entry(second, 'nick', /changed to solo$/);
    assert.equal(await second.locator('#nick').inputValue(), 'solo');
    await noError(second);
    await context.close();
    assert.deepEqual(
      problems.filter((p) => !p.includes('WebSocket')),
      [],
    );
  });

  it("takes its name back after a reload that could not resume, once the previous session's grace has passed, with no error", async () => {
    const page = await open(nodeA);
    const other = await open(nodeB);
    await page.locator('#nick').fill('comeback');
    await page.locator('#nick').press('Enter');
    await entry(other, 'nick', /changed to comeback$/);

    // The resume point is lost (as when a browser drops sessionStorage): the reload starts a new session while
    // the previous one still holds the name, within its grace window.
    await page.evaluate("sessionStorage.removeItem('switchboard.session')");
    await page.reload();
    await waitState(page, 'open');
    await entry(page, 'system', /comeback is in use elsewhere/);
    await entry(other, 'notice', /comeback has disconnected/, LEAVE_WAIT_MS);
    await entry(page, 'nick', /changed to comeback$/);
    assert.equal(await page.locator('#nick').inputValue(), 'comeback');
    assert.equal(await page.locator('#log li[data-kind="error"]').count(), 0);
    assert.equal(await page.locator('#nick').getAttribute('aria-invalid'), null);
    await Promise.all([page.context().close(), other.context().close()]);
    assert.deepEqual(
      problems.filter((p) => !p.includes('WebSocket')),
      [],
    );
  });

  it('lets a duplicated tab take the session; the original tab becomes a new person instead of taking it back', async () => {
    const first = await open(nodeA);
    const other = await open(nodeB);
    await first.locator('#nick').fill('twin');
    await first.locator('#nick').press('Enter');
    await entry(other, 'nick', /changed to twin$/);
    const saved = await first.evaluate<string>("sessionStorage.getItem('switchboard.session')");
    await first.evaluate('window.__beforeTakeover = true');

    // Duplicating a tab copies its sessionStorage: the copy resumes the same session.
    const dup = await first.context().newPage();
    dup.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    await dup.addInitScript(`sessionStorage.setItem('switchboard.session', ${JSON.stringify(saved)})`);
    await dup.goto(nodeB.httpUrl);
    await waitState(dup, 'open');
    assert.equal(await dup.locator('#nick').inputValue(), 'twin', 'the copy holds the session, name and all');

    // The first tab was closed with 4004 and started over as a new session.
    await first.waitForFunction('window.__beforeTakeover === undefined', undefined, { timeout: WAIT_MS });
    await waitState(first, 'open');
    const now = JSON.parse(await first.evaluate<string>("sessionStorage.getItem('switchboard.session')")) as { session: string };
    assert.notEqual(now.session, (JSON.parse(saved) as { session: string }).session, 'the first tab has a session of its own');

    // No tug of war: the copy keeps its session and chats as twin; nobody heard twin leave.
    await say(dup, 'the copy is twin now');
    const line = await entry(other, 'message', /the copy is twin now/);
    assert.equal(await line.locator('.who').innerText(), 'twin');
    await waitState(dup, 'open');
    assert.equal(
      await other
        .locator('#log li[data-kind="notice"]')
        .filter({ hasText: /^twin has disconnected/ })
        .count(),
      0,
    );
    await Promise.all([first.context().close(), other.context().close()]);
    assert.deepEqual(
      problems.filter((p) => !p.includes('WebSocket')),
      [],
    );
  });
});

/**
 * The page over https://, TLS ending at HAProxy in front of two gateways. The
 * browser trusts the throwaway certificate by its public key alone
 * (--ignore-certificate-errors-spki-list): every other certificate error stays an error.
 */
describe('the chat page over https:// through the load balancer', () => {
  let certs: TestCertificates;
  let cluster: LocalCluster;
  let browser: Browser;
  const problems: string[] = [];

  async function open(url: string): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => msg.type() === 'error' && problems.push(`console: ${msg.text()}`));
    await page.goto(url);
    await waitState(page, 'open');
    return page;
  }

  before(async () => {
    certs = await makeTestCertificates();
    cluster = await LocalCluster.start({ gateways: 2, tlsCert: certs.pemFile });
    await cluster.waitForBackends();
    const spki = new X509Certificate(readFileSync(certs.certFile)).publicKey.export({ type: 'spki', format: 'der' });
    browser = await launchChromium([`--ignore-certificate-errors-spki-list=${createHash('sha256').update(spki).digest('base64')}`]);
    await mkdir(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await cluster?.stop();
    certs?.dispose();
  });

  it('is sent from http:// to https://, connects with wss:// and chats across both gateways', async () => {
    const ada = await open(`${cluster.plainUrl}/`);
    assert.equal(new URL(ada.url()).origin, cluster.httpUrl, 'the plain listener redirected the page to https://');
    const sockets: string[] = [];
    const bea = await (await browser.newContext()).newPage();
    bea.on('websocket', (ws) => sockets.push(ws.url()));
    bea.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    await bea.goto(`${cluster.httpUrl}/`);
    await waitState(bea, 'open');
    assert.deepEqual(sockets, [cluster.wsUrl], 'the page derived wss:// from its https:// location');

    await say(ada, 'hello over https');
    await entry(bea, 'message', /hello over https/);
    await say(bea, 'and back over wss');
    await entry(ada, 'message', /and back over wss/);
    const nodes = [ada, bea].map((page) => page.locator('#status').innerText());
    assert.equal(new Set(await Promise.all(nodes)).size, 2, 'one page on each gateway');
    await ada.screenshot({ path: `${SHOTS}chat-https.png` });
    await Promise.all([ada.context().close(), bea.context().close()]);
    assert.deepEqual(problems, []);
  });
});

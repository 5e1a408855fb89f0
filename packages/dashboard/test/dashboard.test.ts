import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ChatClient, eventually, GatewayProcess, RedisServer } from '@switchboard/testkit';
import { accessibilityViolations } from '../../web/test/accessibility.js';

/** Debian's chromium (CI installs it with apt); playwright never downloads a browser here. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = fileURLToPath(new URL('../../../test-output/dashboard/', import.meta.url));
const NODES = ['dash-1', 'dash-2', 'dash-3'];
const WAIT_MS = 30_000;
/** How long the chat traffic behind the plots runs, in ms, and the pause between its lines. */
const TRAFFIC_MS = 8_000;
const TRAFFIC_PAUSE_MS = 60;

/**
 * Poll `expression` in the page until it is true. (page.waitForFunction would
 * evaluate it with `new Function`, which the page's CSP rightly forbids;
 * page.evaluate goes through the debugging protocol instead.)
 */
async function waitUntil(page: Page, expression: string, what: string): Promise<void> {
  await eventually(() => page.evaluate<boolean>(expression), { timeoutMs: WAIT_MS, intervalMs: 200, what });
}

/**
 * The dashboard page (METRICS_PORT, `/`) in real headless Chromium, on one node
 * of a three-node cluster over a real redis-server, while clients chat.
 */
describe('the dashboard page in Chromium, on a three-node cluster', () => {
  let redis: RedisServer;
  let gateways: GatewayProcess[] = [];
  let clients: ChatClient[] = [];
  let browser: Browser;
  let traffic: Promise<void>;
  const problems: string[] = [];

  async function open(options: { width: number; height: number; dark?: boolean }): Promise<Page> {
    const context = await browser.newContext({
      viewport: { width: options.width, height: options.height },
      colorScheme: options.dark ? 'dark' : 'light',
    });
    const page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => msg.type() === 'error' && problems.push(`console: ${msg.text()}`));
    const response = await page.goto(gateways[0]!.metricsUrl);
    assert.equal(response?.status(), 200);
    const csp = response?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/, 'scripts from the page itself only, none inline');
    return page;
  }

  /**
   * Wait until the table lists every node and every plot has values for
   * `samplesPerNode` seconds of every node. (Page-side code is given as text:
   * the tests are compiled without the DOM's types.)
   */
  async function waitForPlots(page: Page, samplesPerNode: number): Promise<void> {
    const listed = `[...document.querySelectorAll('#nodes tbody tr')].map((row) => row.dataset.node).join(',') === ${JSON.stringify(NODES.join(','))}`;
    await waitUntil(page, listed, 'every node in the table');
    const min = samplesPerNode * NODES.length;
    const plotted = `[...document.querySelectorAll('.plot')].filter((p) => Number(p.dataset.points) >= ${min} && p.querySelector('canvas')).length === 6`;
    await waitUntil(page, plotted, `six plots with ${min} values`);
  }

  /** How many values the connections plot has. */
  const points = async (page: Page) => Number(await page.locator('.plot[data-field="connections"]').getAttribute('data-points'));

  before(async () => {
    redis = await RedisServer.start();
    gateways = await Promise.all(
      NODES.map((node) =>
        GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: node, METRICS_PORT: '0', MESSAGE_RATE_PER_SEC: '100' } }),
      ),
    );
    // Two clients on the first node, three on the second, one on the third: the connections plot tells them apart.
    clients = await Promise.all([0, 0, 1, 1, 1, 2].map((i) => ChatClient.connect(gateways[i]!.wsUrl)));
    traffic = (async () => {
      const end = Date.now() + TRAFFIC_MS;
      for (let n = 0; Date.now() < end; n++) {
        clients[n % clients.length]!.send(`line ${n}`);
        await new Promise((resolve) => setTimeout(resolve, TRAFFIC_PAUSE_MS * (1 + (n % 7))));
      }
    })();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    await mkdir(SHOTS, { recursive: true });
  });

  after(async () => {
    await traffic;
    await browser?.close();
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(gateways.map((g) => g.kill()));
    await redis?.dispose();
  });

  it('shows every node of the cluster, their numbers and six non-empty plots, updated every second', async () => {
    const page = await open({ width: 1280, height: 1000 });
    await waitForPlots(page, 6);
    const rows = page.locator('#nodes tbody tr');
    assert.equal(await rows.count(), 3);
    for (const [i, connections] of [2, 3, 1].entries()) {
      const row = page.locator(`#nodes tbody tr[data-node="${NODES[i]}"]`);
      assert.equal(await row.locator('td').nth(1).innerText(), 'ready');
      assert.equal(await row.locator('td').nth(2).innerText(), String(connections));
    }
    assert.match(await page.locator('#status').innerText(), /Live · 3 nodes \(3 ready\) · served by dash-1/);
    // The plots keep moving: more points a few seconds later.
    const earlier = await points(page);
    await waitUntil(
      page,
      `Number(document.querySelector('.plot[data-field="connections"]').dataset.points) >= ${earlier + 6}`,
      'new points',
    );
    await traffic;
    // Every plot's scale reaches above its highest value: spikes are drawn whole.
    const scales = await page.evaluate<Array<{ field: string; peak: number; top: number }>>(
      `[...document.querySelectorAll('.plot')].map((p) => ({ field: p.dataset.field, peak: Number(p.dataset.peak), top: Number(p.dataset.top) }))`,
    );
    assert.equal(scales.length, 6);
    for (const { field, peak, top } of scales) assert.ok(top > peak, `${field}: top ${top} above the peak ${peak}`);
    assert.ok(scales.find((s) => s.field === 'latencyP99Ms')!.peak > 0, 'the traffic gave the p99 plot values');
    await page.screenshot({ path: `${SHOTS}dashboard.png`, fullPage: true });
    await page.context().close();
    assert.deepEqual(problems, []);
  });

  it('breaks no WCAG 2.1 AA rule that axe-core checks, in light and dark mode', async () => {
    for (const dark of [false, true]) {
      const page = await open({ width: 1280, height: 1000, dark });
      await waitForPlots(page, 2);
      assert.deepEqual(await accessibilityViolations(page), [], dark ? 'dark' : 'light');
      await page.context().close();
    }
    assert.deepEqual(problems, []);
  });

  it('reads well on a phone in dark mode: no sideways scrolling of the page', async () => {
    const page = await open({ width: 390, height: 844, dark: true });
    await waitForPlots(page, 2);
    const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
    assert.ok(width <= 390, `the page is ${width}px wide`);
    // The table is wider than a phone: it scrolls sideways in its own box, to its last column, and
    // the node names stay in view at its left edge meanwhile.
    const table = await page.evaluate<{ scrolls: boolean; lastSeen: boolean; namesSeen: boolean }>(`(() => {
      const wrap = document.querySelector('.table-wrap');
      wrap.scrollLeft = wrap.scrollWidth;
      const box = wrap.getBoundingClientRect();
      const last = document.querySelector('#nodes thead th:last-child').getBoundingClientRect();
      const name = document.querySelector('#nodes tbody td:first-child').getBoundingClientRect();
      return {
        scrolls: wrap.scrollWidth > wrap.clientWidth,
        lastSeen: last.right <= box.right + 1 && last.left >= box.left,
        namesSeen: Math.abs(name.left - box.left) <= 2,
      };
    })()`);
    assert.deepEqual(table, { scrolls: true, lastSeen: true, namesSeen: true });
    const background = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    assert.equal(background, 'rgb(15, 19, 25)', 'the dark palette applies');
    await page.screenshot({ path: `${SHOTS}dashboard-phone-dark.png`, fullPage: true });
    await page.context().close();
    assert.deepEqual(problems, []);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page, WebSocket as PageSocket } from 'playwright-core';
import { eventually, GatewayProcess } from '@switchboard/testkit';
import { launchChromium, recordProblems, waitState, WAIT_MS } from './page-steps.js';

const TOKEN_PATH = '/auth/chat-token';

/** Whether a frame the page sent is a v2 refresh with `token` (and the ref the SDK gives it). */
function isRefresh(frame: string, token: string): boolean {
  try {
    const value = JSON.parse(frame) as { type?: unknown; token?: unknown; ref?: unknown };
    return value.type === 'refresh' && value.token === token && typeof value.ref === 'string';
  } catch {
    return false;
  }
}

/** An unsigned JWT-shaped token expiring `seconds` from now (the page reads `exp`; this gateway checks no token). */
function jwt(seconds: number, n: number): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256' })}.${part({ sub: 'ada', n, exp: Math.floor(Date.now() / 1000) + seconds })}.c2ln`;
}

/**
 * The page with PAGE_TOKEN_URL, in Chromium: it asks the application's endpoint
 * (same origin, with its cookies) for a token before connecting and sends it in
 * the upgrade's `token` query parameter; it refreshes it in place before it
 * expires; with no token it says "Sign-in required". The endpoint is the test's
 * (playwright's routing): the gateway here checks no token, so the page's side is what is tested.
 */
describe('the page with PAGE_TOKEN_URL, in Chromium', () => {
  let gateway: GatewayProcess;
  let plain: GatewayProcess;
  let browser: Browser;

  before(async () => {
    [gateway, plain, browser] = await Promise.all([
      GatewayProcess.start({ env: { PAGE_TOKEN_URL: TOKEN_PATH } }),
      GatewayProcess.start({}),
      launchChromium(),
    ]);
  });

  after(async () => {
    await browser?.close();
    await Promise.all([gateway?.kill(), plain?.kill()]);
  });

  /** A page whose token endpoint answers `answer(n)` to its n-th call (from 1: a JSON body, or `raw` text), recording its sockets and calls. */
  async function open(
    answer: (n: number) => { status: number; body: object } | { status: number; raw: string },
    problems: string[],
  ): Promise<{ page: Page; sockets: PageSocket[]; calls: { cookie: string | undefined }[] }> {
    const context = await browser.newContext();
    await context.addCookies([{ name: 'app-session', value: 's3cret', url: gateway.httpUrl }]);
    const page = await context.newPage();
    recordProblems(page, problems);
    const sockets: PageSocket[] = [];
    const calls: { cookie: string | undefined }[] = [];
    page.on('websocket', (ws) => sockets.push(ws));
    await page.route(`**${TOKEN_PATH}`, async (route) => {
      calls.push({ cookie: (await route.request().allHeaders()).cookie });
      const given = answer(calls.length);
      if ('raw' in given) await route.fulfill({ status: given.status, contentType: 'text/html', body: given.raw });
      else await route.fulfill({ status: given.status, contentType: 'application/json', body: JSON.stringify(given.body) });
    });
    await page.goto(gateway.httpUrl);
    return { page, sockets, calls };
  }

  it('gets a token with its cookies before connecting, sends it in the `token` query parameter, and refreshes it in place', async () => {
    const problems: string[] = [];
    const tokens: string[] = [];
    const { page, sockets, calls } = await open((n) => {
      tokens[n] = jwt(4, n);
      return { status: 200, body: { token: tokens[n] } };
    }, problems);
    await waitState(page, 'open');
    assert.equal(calls[0]?.cookie, 'app-session=s3cret', 'called with credentials');
    assert.equal(new URL(sockets[0]!.url()).searchParams.get('token'), tokens[1]);
    const sent: string[] = [];
    sockets[0]!.on('framesent', (frame) => typeof frame.payload === 'string' && sent.push(frame.payload));
    // A 4-second token is refreshed when a quarter of it is left: on the same socket.
    await eventually(
      () => {
        assert.ok(
          sent.some((f) => isRefresh(f, tokens[2]!)),
          JSON.stringify(sent),
        );
        return true;
      },
      { what: 'a refresh frame with the second token', timeoutMs: WAIT_MS },
    );
    assert.equal(sockets.length, 1, 'no reconnect');
    assert.deepEqual(problems, []);
  });

  it('shows "Sign-in required" when the endpoint gives no token, and connects once it does', async () => {
    const problems: string[] = [];
    let signedIn = false;
    const { page, sockets } = await open(
      () => (signedIn ? { status: 200, body: { token: jwt(3600, 1) } } : { status: 401, body: { error: 'not signed in' } }),
      problems,
    );
    await waitState(page, 'signin');
    assert.equal(await page.locator('#status-text').textContent(), 'Sign-in required');
    assert.equal(sockets.length, 0, 'no connection without a token');
    assert.ok(await page.locator('#retry').isVisible(), 'a button to try again');
    signedIn = true;
    // The page also tries again by itself (its reconnect backoff): it may have connected before the click,
    // and then the button is gone.
    await page.evaluate(() => {
      const { document } = globalThis as unknown as { document: { getElementById(id: string): { hidden: boolean; click(): void } | null } };
      const retry = document.getElementById('retry');
      if (retry && !retry.hidden) retry.click();
    });
    await waitState(page, 'open');
    assert.equal(sockets.filter((s) => !s.isClosed()).length, 1, 'one connection');
    // The 401 of the endpoint is the browser's console error, not the page's.
    assert.deepEqual(
      problems.filter((p) => !/401/.test(p)),
      [],
    );
  });

  it('says why there is no token when the endpoint fails otherwise than "not signed in": an error status, or not JSON', async () => {
    const problems: string[] = [];
    const broken = await open(() => ({ status: 500, raw: '<h1>Internal Server Error</h1>' }), problems);
    await waitState(broken.page, 'signin');
    assert.equal(await broken.page.locator('#status-text').textContent(), 'Sign-in required (the sign-in service answered 500)');
    const html = await open(() => ({ status: 200, raw: '<html>a login form</html>' }), problems);
    await waitState(html.page, 'signin');
    assert.equal(await html.page.locator('#status-text').textContent(), 'Sign-in required (the sign-in service did not answer JSON)');
    assert.equal(broken.sockets.length + html.sockets.length, 0, 'no connection without a token');
    // The 500 of the endpoint is the browser's console error, not the page's: no exception of its own.
    assert.deepEqual(
      problems.filter((p) => !/500/.test(p)),
      [],
    );
  });

  it('says so when the token cannot be renewed on an open connection, and keeps the connection', async () => {
    const problems: string[] = [];
    const { page, sockets } = await open(
      (n) => (n === 1 ? { status: 200, body: { token: jwt(4, n) } } : { status: 502, raw: 'Bad Gateway' }),
      problems,
    );
    await waitState(page, 'open');
    // A quarter of the 4-second token is left: the page asks again, and is answered 502.
    await eventually(
      async () => {
        assert.match(
          (await page.locator('#hint').textContent()) ?? '',
          /^Your sign-in could not be renewed: the sign-in service answered 502\./,
        );
        return true;
      },
      { what: 'the renewal failure said', timeoutMs: WAIT_MS },
    );
    assert.equal(sockets.length, 1, 'no reconnect for it');
    assert.deepEqual(
      problems.filter((p) => !/502/.test(p)),
      [],
    );
  });

  it('connects without a token, as ever, when PAGE_TOKEN_URL is unset', async () => {
    const problems: string[] = [];
    const page = await (await browser.newContext()).newPage();
    recordProblems(page, problems);
    const sockets: PageSocket[] = [];
    page.on('websocket', (ws) => sockets.push(ws));
    await page.goto(plain.httpUrl);
    await waitState(page, 'open');
    assert.equal(await page.locator('meta[name="switchboard-token-url"]').count(), 0);
    assert.equal(new URL(sockets[0]!.url()).searchParams.get('token'), null);
    assert.deepEqual(problems, []);
  });
});

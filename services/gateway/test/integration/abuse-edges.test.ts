import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '@switchboard/protocol';
import { ChatClient, FRAME_TIMEOUT_MS, GatewayProcess, SEED_STYLE_PAGE_DIR, type LogLine } from '@switchboard/testkit';
import { BUNDLED_PAGE_CSP, CUSTOM_PAGE_CSP } from '../../src/http/security-headers.js';

/**
 * The abuse suite for the node's edges: admission control before the upgrade
 * (origin, per-node and per-address caps, connection rate, the client address
 * behind a trusted proxy), the slowloris timeout, security headers, and
 * nicknames that try to hide or reorder text. Real gateway processes (memory
 * bus: none of this depends on Redis). Every refusal must be answered before
 * the upgrade, logged with its reason, and broadcast nothing: a client already
 * connected sees no notice (checked with ChatClient.barrier()).
 */

const LOG_WAIT_MS = 10_000;
/** HEADERS_TIMEOUT_MS's default, and how late past it a trickling request may still be cut (timeouts are checked every second; the machine is loaded). */
const HEADERS_TIMEOUT_MS = 10_000;
const SLOWLORIS_MARGIN_MS = 6_000;

/** A gateway on the in-memory bus with the real per-address defaults unless `env` says otherwise. */
function start(nodeId: string, env: Record<string, string> = {}): Promise<GatewayProcess> {
  return GatewayProcess.start({ env: { REDIS_URL: '', NODE_ID: nodeId, ...env }, liftAddressLimits: false });
}

interface UpgradeAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
  /** The upgraded socket, when the answer was 101: destroy it when done. */
  readonly socket?: Socket;
}

/** A bare WebSocket upgrade with `headers`: the HTTP answer, read whether it is 101 or a refusal. */
function tryUpgrade(port: number, headers: Record<string, string> = {}): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/ws',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    req.once('upgrade', (res, socket) => resolve({ status: res.statusCode!, headers: res.headers, body: {}, socket: socket }));
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.once('error', reject);
    req.end();
  });
}

/** Wait for the gateway's log line about a refused upgrade with `reason` (after log line `from`). */
function refusalLogged(gateway: GatewayProcess, reason: string, from = 0): Promise<LogLine> {
  return gateway.logs.waitFor(
    (l) => l.msg === 'upgrade refused' && l.reason === reason,
    LOG_WAIT_MS,
    `an upgrade refused for ${reason}`,
    from,
  );
}

/** The connect and disconnect notices of others `watcher` has seen since event `from`, as `event id`. */
function noticesSince(watcher: ChatClient, from: number): string[] {
  return watcher.events.slice(from).flatMap((e) => (e.type === 'notification' && e.id !== watcher.id ? [`${e.event} ${e.id}`] : []));
}

describe('origins: a page on another site cannot chat as its visitors', () => {
  let node: GatewayProcess;
  let listed: GatewayProcess;
  let any: GatewayProcess;

  before(async () => {
    [node, listed, any] = await Promise.all([
      start('origin-default'),
      start('origin-listed', { ALLOWED_ORIGINS: 'https://chat.example.com' }),
      start('origin-any', { ALLOWED_ORIGINS: '*' }),
    ]);
  });

  after(async () => {
    await Promise.all([node?.kill(), listed?.kill(), any?.kill()]);
  });

  it('by default lets in the page of the same origin and clients that send no Origin', async () => {
    const page = await ChatClient.connect(node.wsUrl, { origin: node.httpUrl });
    const cli = await ChatClient.connect(node.wsUrl);
    await Promise.all([page.close(), cli.close()]);
  });

  it('by default refuses another origin with 403 before the upgrade, logs it, and broadcasts nothing', async () => {
    const watcher = await ChatClient.connect(node.wsUrl);
    const mark = watcher.events.length;
    const from = node.logs.items.length;
    for (const origin of ['https://evil.example', 'http://127.0.0.1:1', 'null']) {
      const answer = await tryUpgrade(node.port, { Origin: origin });
      assert.equal(answer.status, 403, origin);
      assert.deepEqual(answer.body, { error: 'origin not allowed', reason: 'origin-not-allowed' });
    }
    const logged = await refusalLogged(node, 'origin-not-allowed', from);
    assert.equal(logged.origin, 'https://evil.example');
    assert.equal(logged.status, 403);
    await watcher.barrier('origins');
    assert.deepEqual(noticesSince(watcher, mark), []);
    await watcher.close();
  });

  it('with ALLOWED_ORIGINS lets in exactly the origins listed', async () => {
    const page = await ChatClient.connect(listed.wsUrl, { origin: 'https://chat.example.com' });
    assert.equal((await tryUpgrade(listed.port, { Origin: listed.httpUrl })).status, 403, 'same origin is not implied');
    assert.equal((await tryUpgrade(listed.port, { Origin: 'https://evil.example' })).status, 403);
    assert.ok((await ChatClient.connect(listed.wsUrl)).welcome, 'no Origin: still accepted');
    await page.close();
  });

  it('with ALLOWED_ORIGINS=* lets in any origin', async () => {
    const page = await ChatClient.connect(any.wsUrl, { origin: 'https://evil.example' });
    await page.close();
  });
});

describe('connection caps: per node and per client address, behind a trusted proxy', () => {
  let proxied: GatewayProcess;
  let direct: GatewayProcess;
  const via = (address: string) => ({ headers: { 'X-Forwarded-For': address } });

  before(async () => {
    [proxied, direct] = await Promise.all([
      // This test process plays the proxy: it connects from 127.0.0.1 and says who the client is.
      start('caps-proxied', { TRUSTED_PROXIES: '127.0.0.1', MAX_CONNECTIONS: '4', MAX_CONNECTIONS_PER_IP: '2' }),
      start('caps-direct', { MAX_CONNECTIONS_PER_IP: '2' }),
    ]);
  });

  after(async () => {
    await Promise.all([proxied?.kill(), direct?.kill()]);
  });

  it('counts by the forwarded address: 429 past MAX_CONNECTIONS_PER_IP, 503 past MAX_CONNECTIONS, and nothing broadcast', async () => {
    const from = proxied.logs.items.length;
    const watcher = await ChatClient.connect(proxied.wsUrl, via('198.51.100.1'));
    const mark = watcher.events.length;
    const a1 = await ChatClient.connect(proxied.wsUrl, via('198.51.100.2'));
    const a2 = await ChatClient.connect(proxied.wsUrl, via('6.6.6.6, 198.51.100.2'));

    const third = await tryUpgrade(proxied.port, { 'X-Forwarded-For': '198.51.100.2' });
    assert.equal(third.status, 429);
    assert.deepEqual(third.body, { error: 'too many connections from this address', reason: 'address-full', max: 2 });
    assert.equal((await refusalLogged(proxied, 'address-full', from)).remote, '198.51.100.2');

    const b1 = await ChatClient.connect(proxied.wsUrl, via('198.51.100.3'));
    const full = await tryUpgrade(proxied.port, { 'X-Forwarded-For': '198.51.100.4' });
    assert.equal(full.status, 503);
    assert.deepEqual(full.body, { error: 'node is full', reason: 'node-full', max: 4 });
    await refusalLogged(proxied, 'node-full', from);

    const closedAt = proxied.logs.items.length;
    await a1.close();
    await proxied.logs.waitFor((l) => l.msg === 'connection closed' && l.conn !== undefined, LOG_WAIT_MS, 'a1 closed', closedAt);
    const c1 = await ChatClient.connect(proxied.wsUrl, via('198.51.100.4'));
    await proxied.logs.waitFor((l) => l.msg === 'connection opened' && l.remote === '198.51.100.4', LOG_WAIT_MS, 'c1 logged', from);

    const opened = proxied.logs.items
      .slice(from)
      .filter((l) => l.msg === 'connection opened')
      .map((l) => l.remote);
    assert.deepEqual(
      opened,
      ['198.51.100.1', '198.51.100.2', '198.51.100.2', '198.51.100.3', '198.51.100.4'],
      'logged with the client address',
    );

    await watcher.barrier('caps');
    const expected = [...[a1, a2, b1, c1].map((c) => `connected ${c.id}`), `disconnected ${a1.id}`];
    assert.deepEqual(noticesSince(watcher, mark).sort(), expected.sort(), 'only the admitted were announced');
    await Promise.all([watcher, a2, b1, c1].map((c) => c.close()));
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const from = direct.logs.items.length;
    const x = await ChatClient.connect(direct.wsUrl, via('198.51.100.9'));
    const y = await ChatClient.connect(direct.wsUrl, via('198.51.100.10'));
    const spoofed = await tryUpgrade(direct.port, { 'X-Forwarded-For': '198.51.100.11' });
    assert.equal(spoofed.status, 429, 'every connection counts as 127.0.0.1, whatever it claims');
    assert.equal((await refusalLogged(direct, 'address-full', from)).remote, '127.0.0.1');
    const opened = direct.logs.items
      .slice(from)
      .filter((l) => l.msg === 'connection opened')
      .map((l) => l.remote);
    assert.deepEqual(opened, ['127.0.0.1', '127.0.0.1']);
    await Promise.all([x.close(), y.close()]);
  });
});

describe('connection rate per client address', () => {
  let node: GatewayProcess;
  const RATE = 1;
  const BURST = 3;

  before(async () => {
    node = await start('rate', {
      TRUSTED_PROXIES: '127.0.0.1',
      CONNECTION_RATE_PER_IP: String(RATE),
      CONNECTION_BURST_PER_IP: String(BURST),
    });
  });

  after(async () => {
    await node?.kill();
  });

  /** `count` upgrades at once, the forwarded header of each from `forwardedFor(i)`; the answers, upgraded sockets destroyed. */
  async function storm(
    count: number,
    forwardedFor: (i: number) => string,
  ): Promise<{ admitted: number; refused: UpgradeAnswer[]; seconds: number }> {
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: count }, (_, i) => tryUpgrade(node.port, { 'X-Forwarded-For': forwardedFor(i) })),
    );
    const seconds = (performance.now() - started) / 1000;
    for (const answer of answers) answer.socket?.destroy();
    return { admitted: answers.filter((a) => a.status === 101).length, refused: answers.filter((a) => a.status !== 101), seconds };
  }

  it('admits a burst from one address, then refuses with 429 and Retry-After, and broadcasts nothing for the refused', async () => {
    const watcher = await ChatClient.connect(node.wsUrl, { headers: { 'X-Forwarded-For': '198.51.100.30' } });
    const mark = watcher.events.length;
    const from = node.logs.items.length;
    const { admitted, refused, seconds } = await storm(12, () => '198.51.100.31');
    assert.ok(admitted >= BURST, `the burst is admitted (${admitted})`);
    assert.ok(admitted <= BURST + Math.ceil(seconds * RATE), `no more than the burst and the rate allow (${admitted} in ${seconds} s)`);
    assert.ok(refused.length > 0);
    for (const answer of refused) {
      assert.equal(answer.status, 429);
      assert.equal(answer.headers['retry-after'], '1');
      assert.deepEqual(answer.body, { error: 'connecting too fast from this address', reason: 'address-rate', perSec: RATE });
    }
    assert.equal((await refusalLogged(node, 'address-rate', from)).remote, '198.51.100.31');

    // Another address has its own bucket.
    const other = await ChatClient.connect(node.wsUrl, { headers: { 'X-Forwarded-For': '198.51.100.32' } });
    await other.close();

    await watcher.barrier('rate');
    // At most the admitted (one closed at once may leave before it was announced) and `other`.
    const connected = noticesSince(watcher, mark).filter((n) => n.startsWith('connected'));
    assert.ok(connected.length <= admitted + 1, `only the admitted were announced (${connected.length} of ${admitted} + 1)`);
    await watcher.close();
  });

  it('counts by the address the proxy appended, whatever the client wrote before it', async () => {
    const { admitted, refused, seconds } = await storm(12, (i) => `203.0.113.${i}, 198.51.100.33`);
    assert.ok(admitted <= BURST + Math.ceil(seconds * RATE), `${admitted} in ${seconds} s`);
    assert.ok(refused.length > 0 && refused.every((a) => a.status === 429));
  });
});

describe('slowloris: a request that trickles its headers', () => {
  let node: GatewayProcess;

  before(async () => {
    node = await start('slow');
  });

  after(async () => {
    await node?.kill();
  });

  it('is cut off once HEADERS_TIMEOUT_MS has passed, while established WebSockets live on', async () => {
    const chatter = await ChatClient.connect(node.wsUrl);
    const socket = connect(node.port, '127.0.0.1');
    const started = performance.now();
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', () => undefined);
    socket.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${node.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Slow: `);
    const trickle = setInterval(() => socket.write('a'), 1_000);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('close', () => resolve());
        setTimeout(() => reject(new Error('the trickling request was never cut off')), HEADERS_TIMEOUT_MS + SLOWLORIS_MARGIN_MS);
      });
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= HEADERS_TIMEOUT_MS - 1_000, `cut off by the headers timeout, not before (${Math.round(elapsed)} ms)`);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    await chatter.barrier('still here');
    await chatter.close();
  });
});

describe('security headers and source maps', () => {
  let bundled: GatewayProcess;
  let custom: GatewayProcess;

  before(async () => {
    [bundled, custom] = await Promise.all([start('headers-bundled'), start('headers-custom', { PUBLIC_DIR: SEED_STYLE_PAGE_DIR })]);
  });

  after(async () => {
    await Promise.all([bundled?.kill(), custom?.kill()]);
  });

  it('sends the bundled page and its files with a strict CSP, nosniff and no referrer', async () => {
    for (const path of ['/', '/app.js', '/style.css', '/favicon.svg']) {
      const res = await fetch(`${bundled.httpUrl}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-security-policy'), BUNDLED_PAGE_CSP, path);
      assert.match(BUNDLED_PAGE_CSP, /frame-ancestors 'self'/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
    }
  });

  it('serves no source map of the page from a normal build', async () => {
    assert.equal((await fetch(`${bundled.httpUrl}/app.js.map`)).status, 404, 'run `npm run build` (not bundle:dev) before the tests');
    assert.doesNotMatch(await (await fetch(`${bundled.httpUrl}/app.js`)).text(), /sourceMappingURL/);
  });

  it('sends a page it did not write (custom PUBLIC_DIR) only headers that cannot break it', async () => {
    const res = await fetch(`${custom.httpUrl}/`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /seed's own chat page/);
    assert.equal(res.headers.get('content-security-policy'), CUSTOM_PAGE_CSP);
    assert.equal(CUSTOM_PAGE_CSP, "frame-ancestors 'self'");
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  });
});

describe('nicknames that hide or reorder text', () => {
  let node: GatewayProcess;

  before(async () => {
    node = await start('nicks');
  });

  after(async () => {
    await node?.kill();
  });

  it('refuses bidi controls and zero-width characters in both protocols, broadcasting nothing', async () => {
    const watcher = await ChatClient.connect(node.wsUrl);
    const seed = await ChatClient.connect(node.wsUrl);
    const modern = await ChatClient.connect(node.wsUrl, { hello: {} });
    const mark = watcher.events.length;

    for (const name of ['ad\u202emin', 'ada\u2066', 'a\u200bda', 'ad\u2060a', 'ad\ufeffa', 'ad\u200fa']) {
      const from = seed.frames.items.length;
      seed.send(`/nick ${name}`);
      const refusal = await seed.frames.waitFor(
        (f) => f.type === 'error',
        FRAME_TIMEOUT_MS,
        `the refusal of ${JSON.stringify(name)}`,
        from,
      );
      assert.equal(refusal.type === 'error' && refusal.code, ErrorCode.NICK_INVALID, JSON.stringify(name));

      const ref = `nick-${modern.frames.items.length}`;
      modern.sendJson({ type: 'nick', nickname: name, ref });
      const v2 = await modern.waitFor((f) => f.type === 'error' && f.ref === ref, `the v2 refusal of ${JSON.stringify(name)}`);
      assert.equal(v2.type === 'error' && v2.code, ErrorCode.NICK_INVALID, JSON.stringify(name));
    }

    // The same rule accepts a plain name, NFC-normalized, the first word only, in both.
    seed.send('/nick Jose\u0301 the second');
    await watcher.waitForMessage('nick_update', `Client ${seed.welcome.nickname} changed to José`);
    modern.sendJson({ type: 'nick', nickname: '  Zoe\u0308  extra words', ref: 'plain' });
    await watcher.waitForMessage('nick_update', `Client ${modern.welcome.nickname} changed to Zoë`);

    await watcher.barrier('nicks');
    const renames = watcher.events
      .slice(mark)
      .filter((e) => e.type === 'nick_update')
      .map((e) => e.nickname);
    assert.deepEqual(renames.sort(), ['José', 'Zoë'], 'no refused name was broadcast');
    await Promise.all([watcher.close(), seed.close(), modern.close()]);
  });
});

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ChatClient, GatewayProcess, QUIET_GATEWAY_ENV, RedisServer } from '@switchboard/testkit';
import { hsToken, redisCommands } from './identity-helpers.js';

/**
 * The abuse suite for tokens: one address sends thousands of upgrades with bad
 * tokens (forged, expired, garbage). Each is a 401 decided on the node alone:
 * Redis hears nothing of them, and chat between signed-in users goes on.
 * Per-address limits are lifted (the testkit's default) so that every upgrade
 * reaches the token check: with them, most would be a cheaper 429 still.
 */

const SECRET = 'abuse-suite-secret-of-at-least-32-bytes';
/** The chat below sends line after line as fast as it gets them back: no rate limit in its way. */
const CHATTY = { MESSAGE_RATE_PER_SEC: '100000', MESSAGE_BURST: '100000' };
const FLOOD = 3_000;
const CONCURRENCY = 64;
/** How long a chat round trip may take while the flood goes on, ms (a loaded 2-core machine). */
const CHAT_ROUND_TRIP_MS = 2_000;

/** One raw upgrade with `token`: resolves with the HTTP status line's code. */
function upgradeStatus(port: number, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let head = '';
    socket.setEncoding('utf8');
    socket.once('connect', () =>
      socket.write(
        `GET /ws?token=${token} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      ),
    );
    socket.on('data', (chunk: string) => {
      head += chunk;
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (status) {
        socket.destroy();
        resolve(Number(status[1]));
      }
    });
    socket.once('error', reject);
  });
}

/** `total` upgrades with the tokens of `tokenAt`, `CONCURRENCY` at a time: their statuses, and how many per second. */
async function flood(
  port: number,
  total: number,
  tokenAt: (i: number) => string,
): Promise<{ statuses: Map<number, number>; perSec: number }> {
  const statuses = new Map<number, number>();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) {
        const status = await upgradeStatus(port, tokenAt(next++));
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  return { statuses, perSec: Math.round(total / ((performance.now() - started) / 1000)) };
}

describe('abuse: a flood of bad tokens', () => {
  let redis: RedisServer;
  let gateway: GatewayProcess;
  let bad: string[];

  before(async () => {
    redis = await RedisServer.start();
    gateway = await GatewayProcess.start({
      env: { REDIS_URL: redis.url, NODE_ID: 'abuse-tokens', AUTH_JWT_SECRET: SECRET, ...QUIET_GATEWAY_ENV, ...CHATTY },
    });
    bad = [
      await hsToken('forged-secret-forged-secret-forged-secret', { sub: 'mallory' }),
      await hsToken(SECRET, { sub: 'mallory', exp: Math.floor(Date.now() / 1000) - 10 }),
      'garbage',
      'eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYWxsb3J5In0.',
    ];
  });

  after(async () => {
    await gateway?.stop();
    await redis?.dispose();
  });

  it('answers thousands of bad tokens from one address with 401, without one Redis command', async () => {
    const port = Number(new URL(gateway.wsUrl).port);
    const before = await redisCommands(redis);
    const { statuses, perSec } = await flood(port, FLOOD, (i) => bad[i % bad.length]!);
    assert.deepEqual([...statuses], [[401, FLOOD]]);
    assert.equal(await redisCommands(redis), before, 'no Redis command for any of them');
    process.stdout.write(`# ${FLOOD} bad tokens refused at ${perSec}/s\n`);
  });

  it('keeps chat between signed-in users going while the flood lasts', async () => {
    const port = Number(new URL(gateway.wsUrl).port);
    const signedIn = async (sub: string) => ChatClient.connect(`${gateway.wsUrl}?token=${await hsToken(SECRET, { sub, name: sub })}`);
    const [ada, bob] = await Promise.all([signedIn('ada'), signedIn('bob')]);
    let flooding = true;
    const during = flood(port, FLOOD, (i) => bad[i % bad.length]!).finally(() => (flooding = false));
    let rounds = 0;
    let slowest = 0;
    while (flooding || rounds === 0) {
      const text = `still here ${rounds++}`;
      const sent = performance.now();
      ada.send(text);
      await bob.waitForMessage('message', text, CHAT_ROUND_TRIP_MS);
      slowest = Math.max(slowest, performance.now() - sent);
    }
    const { statuses } = await during;
    assert.deepEqual([...statuses], [[401, FLOOD]]);
    process.stdout.write(`# ${rounds} chat lines during the flood, slowest ${Math.round(slowest)} ms\n`);
    await Promise.all([ada.close(), bob.close()]);
  });
});

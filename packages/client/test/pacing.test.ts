import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { ClientLimits } from '@switchboard/protocol';
import { TokenBucket } from '../src/token-bucket.js';
import type { FakeSocket } from './fake-socket.js';
import { after, setup, welcome } from './v2-harness.js';

const limits = (messageRatePerSec: number, messageBurst: number): ClientLimits => ({
  maxMessageBytes: 512,
  maxNicknameLength: 32,
  messageRatePerSec,
  messageBurst,
});

/** When each frame was written on `socket`, by the (mocked) clock. */
function writeTimes(socket: FakeSocket): number[] {
  const times: number[] = [];
  const send = socket.send.bind(socket);
  socket.send = (data: string) => {
    times.push(Date.now());
    send(data);
  };
  return times;
}

/** A deterministic stand-in for Math.random. */
function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('TokenBucket', () => {
  it('starts full, refills at its rate up to its capacity, and says how long until the next token', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 2, () => now);
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false);
    assert.equal(bucket.waitMs(), 100);
    now = 60;
    assert.equal(bucket.waitMs(), 40);
    now = 100;
    assert.equal(bucket.take(), true);
    now = 10_000;
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false, 'never more than its capacity');
    now = 0;
    assert.equal(bucket.take(), false, 'a clock set back gives no tokens');
  });
});

describe('SwitchboardClient pacing its sends to the announced rate', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
  afterEach(() => mock.timers.reset());

  it("sends a burst at once, keeps a reserve of the server's burst, then one line per 1/rate seconds, in order", async () => {
    const { client, socket } = setup({ maxOutbox: 500 });
    const connected = client.connect();
    welcome(socket(0), { limits: limits(20, 40) });
    await connected;
    for (let i = 0; i < 50; i++) void client.send(`line ${i}`);
    // 500 ms of the rate (10 frames) stay in reserve against network jitter.
    assert.equal(after(socket(0)).length, 30);
    mock.timers.tick(49);
    assert.equal(after(socket(0)).length, 30);
    mock.timers.tick(1);
    assert.equal(after(socket(0)).length, 31);
    mock.timers.tick(19 * 50);
    assert.deepEqual(
      after(socket(0)).map((f) => f.message),
      Array.from({ length: 50 }, (_, i) => `line ${i}`),
    );
  });

  it("paces afresh after a welcome: the new connection's server bucket is full", async () => {
    const { client, socket } = setup({ maxOutbox: 500 });
    const connected = client.connect();
    welcome(socket(0), { limits: limits(10, 10) });
    await connected;
    for (let i = 0; i < 8; i++) void client.send(`a${i}`);
    assert.equal(after(socket(0)).length, 5, 'burst 10 less a reserve of 5');
    socket(0).drop(1006);
    mock.timers.tick(100);
    welcome(socket(1), { resumed: true, limits: limits(10, 10) });
    assert.equal(after(socket(1)).length, 5, 'the unacknowledged frames go out again, paced');
  });

  it('paces v1 lines too: each promise resolves once its line is written', async () => {
    const { client, socket } = setup({ protocol: 'v1' });
    const connected = client.connect();
    socket(0).open();
    socket(0).frame({ type: 'welcome', id: 'id-1', nickname: 'n', node: 'gw', message: 'hi', limits: limits(10, 8) });
    await connected;
    const written: number[] = [];
    for (let i = 0; i < 4; i++) void client.send(`v1 ${i}`).then(() => written.push(i));
    assert.equal(socket(0).sent.length, 3, 'burst 8 less a reserve of 5');
    assert.equal(client.pending, 1);
    mock.timers.tick(100);
    await Promise.resolve();
    assert.deepEqual(socket(0).sent, ['v1 0', 'v1 1', 'v1 2', 'v1 3']);
    assert.deepEqual(written, [0, 1, 2, 3]);
    assert.equal(client.pending, 0);
  });

  it("never empties the server's bucket, even with arrivals bunched by up to 400 ms of jitter", async () => {
    const { rate, burst } = { rate: 20, burst: 40 };
    // Nothing is acknowledged here, and nothing is to be written twice: no ack timeout within the test.
    const { client, socket } = setup({ maxOutbox: 2_000, ackTimeoutMs: 600_000 });
    const connected = client.connect();
    socket(0).open('switchboard.v2');
    const times = writeTimes(socket(0));
    socket(0).frame({
      type: 'welcome',
      id: 'id-1',
      nickname: 'n',
      node: 'gw',
      message: 'hi',
      session: 's',
      epoch: 'e',
      seq: 0,
      resumed: false,
      limits: limits(rate, burst),
    });
    await connected;

    // An application that sends in bursts and at random, far faster than the rate on average.
    const random = seeded(7);
    for (let ms = 0; ms < 20_000; ms += 10) {
      if (ms % 5_000 === 0) for (let i = 0; i < 60; i++) void client.send(`burst ${ms} ${i}`);
      if (random() < 0.1) void client.send(`now and then ${ms}`);
      mock.timers.tick(10);
    }
    mock.timers.tick(120_000);
    assert.equal(client.pending, times.length, 'everything was written (nothing acknowledged here)');

    // The server's bucket, fed in order (TCP) with each frame delayed by 0 to 400 ms.
    let now = 0;
    const server = new TokenBucket(rate, burst, () => now);
    const delay = seeded(11);
    let refused = 0;
    for (const sentAt of times) {
      now = Math.max(now, sentAt + 400 * delay());
      if (!server.take()) refused++;
    }
    assert.equal(refused, 0);
  });
});

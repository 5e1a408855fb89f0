import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { CloseInfo, PendingFrame } from '../src/index.js';
import { EPOCH, URL, after, message, setup, welcome } from './v2-harness.js';
import { SwitchboardClient } from '../src/index.js';
import { fakeWebSocket } from './fake-socket.js';

const ack = (ref: unknown, seq: number) => ({ type: 'ack', id: 'id-1', nickname: 'n', message: 'Already sent', ref, seq, epoch: EPOCH });
const refusal = (code: string, ref: unknown, retryAfterMs?: number) => ({
  type: 'error',
  id: 'id-1',
  nickname: 'n',
  code,
  message: `${code}!`,
  ref,
  ...(retryAfterMs !== undefined && { retryAfterMs }),
});

/** A client on fake sockets (setup()) that also records its `pending` and `close` events. */
function watched(options: Parameters<typeof setup>[0]) {
  const harness = setup(options);
  const pending: PendingFrame[] = [];
  const closes: CloseInfo[] = [];
  harness.client.on('pending', (p) => pending.push(p));
  harness.client.on('close', (c) => closes.push(c));
  return { ...harness, pending, closes };
}

/** Let `ms` pass in steps, so that timers set by timers run too (tick() runs only those due when it starts). */
function pass(ms: number, step = 50): void {
  for (let left = ms; left > 0; left -= step) mock.timers.tick(Math.min(step, left));
}

describe('SwitchboardClient, protocol v2: the acknowledgement timeout', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('writes a line not acknowledged within ackTimeoutMs again on the same connection, with the same ref, and counts it', async () => {
    const { client, socket, pending, acked } = watched({ ackTimeoutMs: 1_000, ackReconnectMs: 10_000 });
    const connected = client.connect();
    welcome(socket(0));
    await connected;
    const line = client.send('are you there');
    const ref = after(socket(0))[0]?.ref;
    assert.deepEqual(pending, [{ ref, kind: 'message', text: 'are you there', resends: 0, overdue: false }], 'pending from the start');

    mock.timers.tick(999);
    assert.equal(after(socket(0)).length, 1, 'not before the timeout');
    mock.timers.tick(1);
    assert.deepEqual(
      after(socket(0)).map((f) => [f.type, f.ref, f.message]),
      [
        ['message', ref, 'are you there'],
        ['message', ref, 'are you there'],
      ],
    );
    mock.timers.tick(1_000);
    assert.equal(after(socket(0)).length, 3, 'and again after each further timeout');
    assert.equal(client.resends, 2);
    assert.deepEqual(
      pending.map((p) => p.resends),
      [0, 1, 2],
    );

    // The first write was broadcast, its echo lost: the server answers a resend with an ack.
    socket(0).frame(ack(ref, 11));
    assert.equal((await line)?.seq, 11);
    assert.deepEqual(
      acked.map((a) => a.ref),
      [ref],
    );
    mock.timers.tick(60_000);
    assert.equal(after(socket(0)).length, 3, 'nothing more once acknowledged');
    assert.equal(socket(0).closedWith, undefined, 'the connection stays');
    assert.equal(client.pending, 0);
  });

  it('closes a connection that answers nothing for ackReconnectMs (4000: the session survives) and sends the line again after the resume', async () => {
    const { client, socket, sockets, pending, closes } = watched({ ackTimeoutMs: 1_000, ackReconnectMs: 3_000 });
    const connected = client.connect();
    welcome(socket(0));
    await connected;
    const line = client.send('into the void');
    const ref = after(socket(0))[0]?.ref;

    pass(2_999);
    assert.equal(after(socket(0)).length, 3, 'two resends on the same connection');
    assert.equal(socket(0).closedWith, undefined);
    mock.timers.tick(1);
    assert.equal(socket(0).closedWith?.code, 4000, 'abandoned, not ended: not 1000');
    assert.deepEqual(closes, [{ code: 4000, reason: `no answer to ${String(ref)} within 3000 ms`, willReconnect: true }]);
    assert.equal(client.state, 'reconnecting');
    assert.deepEqual(pending.at(-1), { ref, kind: 'message', text: 'into the void', resends: 2, overdue: true }, 'overdue');

    mock.timers.tick(100);
    assert.equal(sockets.length, 2);
    const hello = welcome(socket(1), { resumed: true });
    assert.equal(hello.session, 'tok-1', 'a resume of the same session');
    assert.deepEqual(
      after(socket(1)).map((f) => f.ref),
      [ref],
    );
    assert.equal(client.resends, 3);
    socket(1).frame({ ...message(11, 'into the void', { ref }), id: 'id-1' });
    assert.equal((await line)?.seq, 11);
    pass(60_000, 1_000);
    assert.equal(sockets.length, 2, 'no further reconnect');
  });

  it('takes a retryable refusal as an answer: waits its retryAfterMs, and does not reconnect while the server answers', async () => {
    const { client, socket, closes } = watched({
      ackTimeoutMs: 1_000,
      ackReconnectMs: 2_000,
      sendRetry: { initialDelayMs: 100, maxDelayMs: 200, jitter: 0 },
    });
    const connected = client.connect();
    welcome(socket(0));
    await connected;
    const line = client.send('during a failover');
    const ref = after(socket(0))[0]?.ref;
    // The shard's replicas did not confirm: refused, again and again, each within the ack timeout.
    for (let i = 1; i <= 5; i++) {
      mock.timers.tick(900);
      socket(0).frame(refusal('BUS_UNAVAILABLE', ref, 700));
      mock.timers.tick(699);
      assert.equal(after(socket(0)).length, i, `refusal ${i}: not before retryAfterMs`);
      mock.timers.tick(1);
      assert.equal(after(socket(0)).length, i + 1, `refusal ${i}: sent again after retryAfterMs`);
    }
    assert.deepEqual(closes, [], 'every refusal is an answer: the connection works');
    socket(0).frame({ ...message(11, 'during a failover', { ref }), id: 'id-1' });
    assert.equal((await line)?.seq, 11);
    assert.equal(client.resends, 5);
  });

  it('retries BUS_UNAVAILABLE after 250 ms doubling to at most 2000 ms by default, and never reconnects for it', async () => {
    const { client, socket, closes } = watched({});
    const connected = client.connect();
    welcome(socket(0));
    await connected;
    const line = client.send('through a failover');
    const ref = after(socket(0))[0]?.ref;
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      socket(0).frame(refusal('BUS_UNAVAILABLE', ref));
      let waited = 0;
      const written = after(socket(0)).length;
      while (after(socket(0)).length === written && waited < 10_000) {
        mock.timers.tick(10);
        waited += 10;
      }
      delays.push(waited);
    }
    assert.deepEqual(delays, [250, 500, 1_000, 2_000, 2_000, 2_000]);
    assert.deepEqual(closes, []);
    socket(0).frame({ ...message(11, 'through a failover', { ref }), id: 'id-1' });
    assert.equal((await line)?.seq, 11);
  });

  it('tells a line overdue while reconnecting, with no connection to resend on', async () => {
    const { client, socket, pending } = watched({
      ackTimeoutMs: 1_000,
      ackReconnectMs: 4_000,
      reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 0 },
    });
    const connected = client.connect();
    welcome(socket(0));
    await connected;
    socket(0).drop(1006);
    void client.send('typed while down');
    mock.timers.tick(3_999);
    assert.equal(pending.length, 1);
    mock.timers.tick(1);
    assert.deepEqual(
      pending.map((p) => [p.text, p.resends, p.overdue]),
      [
        ['typed while down', 0, false],
        ['typed while down', 0, true],
      ],
    );
    assert.equal(after(socket(0)).length, 0, 'nothing written while down');
  });

  it('resends answered requests too (who), and settles them by their answer', async () => {
    const { client, socket } = watched({ ackTimeoutMs: 500 });
    const connected = client.connect();
    welcome(socket(0), { room: 'lobby' });
    await connected;
    const asked = client.who();
    const ref = after(socket(0))[0]?.ref;
    mock.timers.tick(500);
    assert.deepEqual(
      after(socket(0)).map((f) => [f.type, f.ref]),
      [
        ['who', ref],
        ['who', ref],
      ],
    );
    socket(0).frame({ type: 'members', id: 'id-1', nickname: 'n', message: '1', room: 'lobby', members: [], count: 1, ref });
    assert.equal((await asked).count, 1);
  });

  it('with reconnect: false, only resends: it never closes the connection itself', async () => {
    const { client, socket, closes } = watched({ ackTimeoutMs: 1_000, ackReconnectMs: 2_000, reconnect: false });
    const connected = client.connect();
    welcome(socket(0));
    await connected;
    void client.send('patient');
    pass(10_000);
    assert.equal(after(socket(0)).length, 11);
    assert.deepEqual(closes, []);
    assert.equal(client.state, 'open');
  });

  it('checks its options: positive numbers, ackReconnectMs at least ackTimeoutMs; defaults 5000 and 15000', () => {
    const { WebSocket } = fakeWebSocket();
    const make = (options: { ackTimeoutMs?: number; ackReconnectMs?: number }) =>
      new SwitchboardClient({ url: URL, WebSocket, ...options });
    assert.throws(() => make({ ackTimeoutMs: 0 }), { name: 'RangeError', message: 'ackTimeoutMs must be a finite number > 0, got 0' });
    assert.throws(() => make({ ackReconnectMs: Infinity }), {
      name: 'RangeError',
      message: 'ackReconnectMs must be a finite number > 0, got Infinity',
    });
    assert.throws(() => make({ ackTimeoutMs: 2_000, ackReconnectMs: 1_000 }), {
      name: 'RangeError',
      message: 'ackReconnectMs must be at least ackTimeoutMs (2000), got 1000',
    });
    assert.doesNotThrow(() => make({ ackTimeoutMs: 20_000 }), 'a long ack timeout raises the default reconnect bound with it');
  });

  it('waits 5000 ms by default before a resend, and 15000 ms before a reconnect', async () => {
    const { client, socket, closes } = watched({});
    const connected = client.connect();
    welcome(socket(0));
    await connected;
    void client.send('defaults');
    mock.timers.tick(4_999);
    assert.equal(after(socket(0)).length, 1);
    mock.timers.tick(1);
    assert.equal(after(socket(0)).length, 2);
    pass(9_999);
    assert.equal(closes.length, 0);
    mock.timers.tick(1);
    assert.equal(closes[0]?.code, 4000);
  });
});

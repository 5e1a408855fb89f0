import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { MAX_MESSAGE_BYTES, MAX_NICKNAME_LENGTH, MESSAGE_BURST, MESSAGE_RATE_PER_SEC, type ClientLimits } from '@switchboard/protocol';
import { ClientError, DEFAULT_LIMITS } from '../src/index.js';
import { after, setup, welcome } from './v2-harness.js';

const announced: ClientLimits = { maxMessageBytes: 100, messageRatePerSec: 20, messageBurst: 40, maxNicknameLength: 8 };

/** The code of the ClientError `fn` throws, or 'sent' when it throws nothing. */
function outcome(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ClientError, String(err));
    return err.code;
  }
  return 'sent';
}

describe('SwitchboardClient limits from welcome', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('uses the protocol defaults before a welcome and with a server that announces none', async () => {
    assert.deepEqual(DEFAULT_LIMITS, {
      maxMessageBytes: MAX_MESSAGE_BYTES,
      messageRatePerSec: MESSAGE_RATE_PER_SEC,
      messageBurst: MESSAGE_BURST,
      maxNicknameLength: MAX_NICKNAME_LENGTH,
    });
    const { client, socket } = setup();
    assert.deepEqual(client.limits, DEFAULT_LIMITS);
    const connected = client.connect();
    welcome(socket(0));
    await connected;
    assert.deepEqual(client.limits, DEFAULT_LIMITS);
  });

  it('takes the limits each welcome announces, a missing or nonsensical one replaced by its default', async () => {
    const { client, socket } = setup();
    const connected = client.connect();
    welcome(socket(0), { limits: announced });
    await connected;
    assert.deepEqual(client.limits, announced);
    socket(0).drop(1012);
    mock.timers.tick(100);
    welcome(socket(1), {
      resumed: true,
      limits: { maxMessageBytes: 300, messageRatePerSec: -1, maxNicknameLength: Number.NaN } as unknown as ClientLimits,
    });
    assert.deepEqual(client.limits, { ...DEFAULT_LIMITS, maxMessageBytes: 300 });
  });

  it('refuses a v2 line whose JSON frame, ref and escaping included, is over maxMessageBytes; stays open and sends nothing', async () => {
    const { client, socket } = setup();
    const connected = client.connect();
    welcome(socket(0), { limits: announced });
    await connected;
    const quotes = '"'.repeat(30); // 30 bytes typed, 60 as JSON
    assert.ok(client.frameBytes(quotes) > announced.maxMessageBytes);
    assert.equal(
      outcome(() => client.send(quotes)),
      'MESSAGE_TOO_BIG',
    );
    assert.throws(() => client.send(quotes), /bytes as sent, over the server's limit of 100; nothing was sent/);
    assert.deepEqual(after(socket(0)), []);
    assert.equal(client.state, 'open');
    assert.equal(client.pending, 0);

    const fits = 'x'.repeat(20);
    const expected = client.frameBytes(fits);
    assert.equal(
      outcome(() => client.send(fits)),
      'sent',
    );
    assert.equal(Buffer.byteLength(socket(0).sent.at(-1) ?? ''), expected, 'frameBytes measures the frame as written');
  });

  it('refuses a v1 line by the size of its raw text', async () => {
    const { client, socket } = setup({ protocol: 'v1' });
    const connected = client.connect();
    socket(0).open();
    socket(0).frame({ type: 'welcome', id: 'id-1', nickname: 'n', node: 'gw', message: 'hi', limits: announced });
    await connected;
    assert.equal(client.frameBytes('é'.repeat(50)), 100);
    assert.equal(
      outcome(() => client.send('é'.repeat(50))),
      'sent',
    );
    assert.equal(
      outcome(() => client.send(`${'é'.repeat(50)}x`)),
      'MESSAGE_TOO_BIG',
    );
    assert.deepEqual(socket(0).sent, ['é'.repeat(50)]);
    assert.equal(client.state, 'open');
  });

  it('refuses a nickname longer than the announced maxNicknameLength, naming the limit', async () => {
    const { client, socket } = setup();
    const connected = client.connect();
    welcome(socket(0), { limits: announced });
    await connected;
    assert.throws(
      () => client.setNick('ninechars'),
      (err: ClientError) => err.code === 'NICK_TOO_LONG' && /at most 8 characters/.test(err.message),
    );
    assert.throws(
      () => client.submit('/nick ninechars'),
      (err: ClientError) => err.code === 'NICK_TOO_LONG',
    );
    assert.equal(
      outcome(() => client.setNick('eightchr')),
      'sent',
    );
    assert.equal(
      outcome(() => client.setNick('bad\u0007')),
      'NICK_INVALID',
    );
    assert.deepEqual(
      after(socket(0)).map((f) => f.nickname),
      ['eightchr'],
    );
  });

  it('lets options.maxMessageBytes replace the announced size', async () => {
    const { client, socket } = setup({ maxMessageBytes: 1000 });
    const connected = client.connect();
    welcome(socket(0), { limits: announced });
    await connected;
    assert.equal(client.limits.maxMessageBytes, 1000);
    assert.equal(
      outcome(() => client.send('x'.repeat(500))),
      'sent',
    );
  });

  it('rejects a frame queued while reconnecting that no longer fits the limit the new node announces', async () => {
    const { client, socket, rejected } = setup();
    const connected = client.connect();
    welcome(socket(0));
    await connected;
    socket(0).drop(1006);
    const queued = client.send('y'.repeat(200));
    mock.timers.tick(100);
    welcome(socket(1), { resumed: true, limits: announced });
    await assert.rejects(queued, (err: ClientError) => err.code === 'MESSAGE_TOO_BIG');
    assert.deepEqual(
      rejected.map((r) => r.error.code),
      ['MESSAGE_TOO_BIG'],
    );
    assert.deepEqual(after(socket(1)), [], 'never written: the server would have closed the connection');
    assert.equal(client.state, 'open');
  });
});

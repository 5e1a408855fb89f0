import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { TERMINAL_CLOSE_CODES } from '@switchboard/protocol';
import {
  ClientError,
  SwitchboardClient,
  backoffDelay,
  resolveReconnectOptions,
  type ClientOptions,
  type StateChange,
} from '../src/index.js';
import { fakeWebSocket, type FakeSocket } from './fake-socket.js';

const URL = 'ws://gateway.test/ws';

function setup(options: Partial<ClientOptions> = {}) {
  const fake = fakeWebSocket();
  const client = new SwitchboardClient({ url: URL, WebSocket: fake.WebSocket, random: () => 0, ...options });
  const states: StateChange[] = [];
  client.on('state', (change) => states.push(change));
  const socket = (i: number): FakeSocket => {
    const s = fake.sockets[i];
    assert.ok(s, `socket ${i} was opened`);
    return s;
  };
  return { client, sockets: fake.sockets, socket, states };
}

const broadcast = {
  message: { type: 'message', id: 'b', nickname: 'bob', message: 'hi', time: 1, seq: 1, epoch: 'e' },
  notification: {
    type: 'notification',
    id: 'b',
    nickname: 'bob',
    message: 'bob has connected',
    event: 'connected',
    time: 1,
    seq: 2,
    epoch: 'e',
  },
  nick_update: {
    type: 'nick_update',
    id: 'b',
    nickname: 'rob',
    previous: 'bob',
    message: 'Client bob changed to rob',
    time: 1,
    seq: 3,
    epoch: 'e',
  },
  error: { type: 'error', id: 'id-1', nickname: 'AnonymousUser1', code: 'RATE_LIMITED', message: 'Slow down.' },
} as const;

describe('SwitchboardClient', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('connects, resolves with the welcome and reports connecting then open', async () => {
    const { client, socket, states } = setup();
    assert.equal(client.state, 'idle');
    const connected = client.connect();
    assert.equal(client.state, 'connecting');
    socket(0).accept('id-1', 'AnonymousUser1', 'gw-7');
    const welcome = await connected;
    assert.equal(welcome.nickname, 'AnonymousUser1');
    assert.deepEqual(
      states.map((s) => s.state),
      ['connecting', 'open'],
    );
    assert.equal(client.id, 'id-1');
    assert.equal(client.node, 'gw-7');
    assert.equal(socket(0).url, URL);
  });

  it('emits one typed event per server frame type, and every frame as "frame"', async () => {
    const { client, socket } = setup();
    const seen: string[] = [];
    client.on('frame', (f) => seen.push(`frame:${f.type}`));
    client.on('welcome', (f) => seen.push(`welcome:${f.node}`));
    client.on('message', (f) => seen.push(`message:${f.nickname}:${f.message}`));
    client.on('notification', (f) => seen.push(`notification:${f.event}`));
    client.on('nick_update', (f) => seen.push(`nick_update:${f.previous}->${f.nickname}`));
    client.on('error', (f) => seen.push(`error:${f.code}`));
    client.on('unknown', (text) => seen.push(`unknown:${text}`));
    const connected = client.connect();
    socket(0).accept();
    await connected;
    for (const frame of Object.values(broadcast)) socket(0).frame(frame);
    socket(0).raw('not json');
    socket(0).raw(new Uint8Array([1, 2])); // binary: not part of the protocol, ignored
    assert.deepEqual(seen, [
      'frame:welcome',
      'welcome:gw-1',
      'frame:message',
      'message:bob:hi',
      'frame:notification',
      'notification:connected',
      'frame:nick_update',
      'nick_update:bob->rob',
      'frame:error',
      'error:RATE_LIMITED',
      'unknown:not json',
    ]);
  });

  it('writes chat lines and renames as the seed protocol does', async () => {
    const { client, socket } = setup();
    const connected = client.connect();
    socket(0).accept();
    await connected;
    void client.send('hello <b>there</b>');
    void client.setNick('ada');
    void client.submit('/nick grace');
    void client.submit('/ waves');
    assert.throws(
      () => void client.submit('/me waves'),
      (err: ClientError) => err.code === 'UNKNOWN_COMMAND',
      'a slash word that names no command is refused before sending, as the server would',
    );
    assert.deepEqual(socket(0).sent, ['hello <b>there</b>', '/nick ada', '/nick grace', '/ waves']);
  });

  it('refuses input the server would refuse, before sending anything', async () => {
    const { client, socket } = setup();
    const connected = client.connect();
    socket(0).accept();
    await connected;
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        assert.ok(err instanceof ClientError);
        return err.code;
      }
      return 'sent';
    };
    assert.equal(
      code(() => client.send('   ')),
      'EMPTY_MESSAGE',
    );
    assert.equal(
      code(() => client.send('é'.repeat(300))),
      'MESSAGE_TOO_BIG',
    );
    assert.equal(
      code(() => client.setNick('')),
      'NICK_REQUIRED',
    );
    assert.equal(
      code(() => client.setNick('x'.repeat(33))),
      'NICK_TOO_LONG',
    );
    assert.equal(
      code(() => client.setNick('two words')),
      'NICK_INVALID',
    );
    assert.equal(
      code(() => client.submit('/nick')),
      'NICK_REQUIRED',
    );
    assert.deepEqual(socket(0).sent, []);
    assert.equal(
      code(() => client.send('x'.repeat(512))),
      'sent',
    );
  });

  it('throws NOT_OPEN when not connected, and keeps nothing (protocol v1)', () => {
    const { client } = setup({ protocol: 'v1' });
    assert.throws(
      () => client.send('early'),
      (err: ClientError) => err.code === 'NOT_OPEN',
    );
    void client.connect();
    assert.throws(
      () => client.send('still early'),
      (err: ClientError) => err.code === 'NOT_OPEN',
    );
  });

  it('reconnects after a lost connection with backoff, then takes its nickname back', async () => {
    const { client, sockets, socket, states } = setup({ nickname: 'ada', reconnect: { initialDelayMs: 100, jitter: 0 } });
    const connected = client.connect();
    socket(0).accept('id-1', 'AnonymousUser1');
    await connected;
    assert.deepEqual(socket(0).sent, ['/nick ada'], 'takes the nickname it was given');
    socket(0).frame({ type: 'nick_update', id: 'id-1', nickname: 'ada', previous: 'AnonymousUser1', message: 'x', time: 1 });
    assert.equal(client.nickname, 'ada');

    socket(0).drop(1006);
    assert.equal(client.state, 'reconnecting');
    assert.deepEqual(states.at(-1), { state: 'reconnecting', previous: 'open', attempt: 1, delayMs: 100 });
    mock.timers.tick(99);
    assert.equal(sockets.length, 1, 'waits the whole delay');
    mock.timers.tick(1);
    assert.equal(sockets.length, 2);

    socket(1).accept('id-2', 'AnonymousUser9');
    assert.equal(client.state, 'open');
    assert.equal(client.id, 'id-2');
    assert.deepEqual(socket(1).sent, ['/nick ada']);
  });

  it('doubles the delay per failed attempt up to maxDelayMs, and starts over after a welcome', () => {
    const { client, socket, states } = setup({ reconnect: { initialDelayMs: 100, maxDelayMs: 350, jitter: 0 } });
    void client.connect();
    const delays: Array<number | undefined> = [];
    for (let i = 0; i < 5; i += 1) {
      socket(i).drop(1006);
      delays.push(states.at(-1)?.delayMs);
      mock.timers.tick(states.at(-1)?.delayMs ?? 0);
    }
    assert.deepEqual(delays, [100, 200, 350, 350, 350]);
    socket(5).accept();
    socket(5).drop(1001);
    assert.equal(states.at(-1)?.delayMs, 100);
    assert.equal(states.at(-1)?.attempt, 1);
  });

  for (const code of TERMINAL_CLOSE_CODES) {
    it(`does not reconnect after a terminal close (${code})`, async () => {
      const { client, sockets, socket } = setup();
      const closes: unknown[] = [];
      client.on('close', (info) => closes.push(info));
      const connected = client.connect();
      socket(0).accept();
      await connected;
      socket(0).drop(code, 'bye');
      assert.equal(client.state, 'closed');
      assert.deepEqual(closes, [{ code, reason: 'bye', willReconnect: false }]);
      mock.timers.tick(60_000);
      assert.equal(sockets.length, 1);
    });
  }

  it('does not reconnect after close(), and resolves close() once the socket has closed', async () => {
    const { client, sockets, socket, states } = setup();
    const connected = client.connect();
    socket(0).accept();
    await connected;
    let closed = false;
    const closing = client.close().then(() => (closed = true));
    assert.equal(client.state, 'closed');
    assert.deepEqual(socket(0).closedWith, { code: 1000, reason: '' });
    await Promise.resolve();
    assert.equal(closed, false, 'waits for the socket');
    socket(0).finishClose();
    await closing;
    mock.timers.tick(60_000);
    assert.equal(sockets.length, 1);
    assert.deepEqual(
      states.map((s) => s.state),
      ['connecting', 'open', 'closed'],
    );
  });

  it('retries at once on reconnectNow() while waiting, and only then', () => {
    const { client, sockets, socket } = setup({ reconnect: { initialDelayMs: 5_000, jitter: 0 } });
    client.reconnectNow();
    assert.equal(sockets.length, 0, 'idle: nothing to hurry');
    void client.connect();
    client.reconnectNow();
    assert.equal(sockets.length, 1, 'connecting: already dialing');
    socket(0).drop(1006);
    client.reconnectNow();
    assert.equal(sockets.length, 2);
    mock.timers.tick(5_000);
    assert.equal(sockets.length, 2, 'the cancelled timer does not dial again');
  });

  it('stops a pending retry when closed while reconnecting', () => {
    const { client, sockets, socket } = setup();
    void client.connect().catch(() => undefined);
    socket(0).drop(1006);
    void client.close();
    mock.timers.tick(60_000);
    assert.equal(sockets.length, 1);
    assert.equal(client.state, 'closed');
  });

  it('gives up after maxAttempts failed attempts in a row', async () => {
    const { client, sockets, socket } = setup({ reconnect: { maxAttempts: 2, initialDelayMs: 10, jitter: 0 } });
    const connected = client.connect();
    socket(0).drop(1006);
    mock.timers.tick(10);
    socket(1).drop(1006);
    mock.timers.tick(20);
    socket(2).drop(1006);
    assert.equal(client.state, 'closed');
    await assert.rejects(connected, (err: ClientError) => err.code === 'NOT_OPEN');
    mock.timers.tick(60_000);
    assert.equal(sockets.length, 3);
  });

  it('never reconnects with reconnect: false', () => {
    const { client, sockets, socket } = setup({ reconnect: false });
    void client.connect().catch(() => undefined);
    socket(0).drop(1006);
    assert.equal(client.state, 'closed');
    mock.timers.tick(60_000);
    assert.equal(sockets.length, 1);
  });

  it('abandons an attempt that gets no welcome within connectTimeoutMs and retries', () => {
    const { client, sockets, socket, states } = setup({ connectTimeoutMs: 1_000, reconnect: { initialDelayMs: 50, jitter: 0 } });
    void client.connect();
    mock.timers.tick(999);
    assert.equal(client.state, 'connecting');
    mock.timers.tick(1);
    assert.ok(socket(0).closedWith, 'the stalled socket is closed');
    assert.equal(states.at(-1)?.state, 'reconnecting');
    mock.timers.tick(50);
    assert.equal(sockets.length, 2);
  });

  it('keeps working when a listener throws; the error is rethrown on a later tick', async () => {
    const { client, socket } = setup();
    client.on('welcome', () => {
      throw new Error('listener bug');
    });
    let after = 0;
    client.on('welcome', () => (after += 1));
    const connected = client.connect();
    socket(0).accept();
    await connected;
    assert.equal(client.state, 'open');
    assert.equal(after, 1, 'later listeners still run');
    // The rethrow waits on a (mocked) timer that this test never runs.
  });

  it('fails early on bad options, naming them', () => {
    const { WebSocket } = fakeWebSocket();
    assert.throws(() => new SwitchboardClient({ url: URL }), /no WebSocket implementation: pass options.WebSocket/);
    assert.throws(
      () => new SwitchboardClient({ url: 'http://x/ws', WebSocket }),
      /url must be a ws:\/\/ or wss:\/\/ URL, got "http:\/\/x\/ws"/,
    );
    assert.throws(
      () => new SwitchboardClient({ url: URL, WebSocket, reconnect: { jitter: 2 } }),
      /reconnect.jitter must be between 0 and 1, got 2/,
    );
    assert.throws(() => new SwitchboardClient({ url: URL, WebSocket, nickname: 'a b' }), /one word/);
    assert.throws(
      () => new SwitchboardClient({ url: URL, WebSocket, connectTimeoutMs: 0 }),
      /connectTimeoutMs must be a finite number > 0, got 0/,
    );
  });
});

describe('backoffDelay', () => {
  it('grows by factor, caps at maxDelayMs and takes off at most jitter of each delay', () => {
    const options = resolveReconnectOptions({ initialDelayMs: 500, maxDelayMs: 10_000, factor: 2, jitter: 0.5 });
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, options, () => 0)),
      [500, 1000, 2000, 4000, 8000, 10_000, 10_000],
    );
    assert.deepEqual(
      [0, 5].map((n) => backoffDelay(n, options, () => 1)),
      [250, 5000],
    );
    assert.equal(
      backoffDelay(3, { ...options, jitter: 0 }, () => 0.9),
      4000,
    );
  });

  it('rejects options that make no sense', () => {
    assert.throws(
      () => resolveReconnectOptions({ maxDelayMs: 10, initialDelayMs: 100 }),
      /reconnect.maxDelayMs must be a finite number >= initialDelayMs \(100\), got 10/,
    );
    assert.throws(() => resolveReconnectOptions({ factor: 0.5 }), /reconnect.factor must be a finite number >= 1, got 0.5/);
    assert.throws(
      () => resolveReconnectOptions({ maxAttempts: 1.5 }),
      /reconnect.maxAttempts must be a whole number >= 0 or Infinity, got 1.5/,
    );
  });
});

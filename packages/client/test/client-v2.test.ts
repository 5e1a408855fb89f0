import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { TERMINAL_CLOSE_CODES } from '@switchboard/protocol';
import { ClientError } from '../src/index.js';
import { EPOCH, V2, after, message, setup, welcome } from './v2-harness.js';

describe('SwitchboardClient, protocol v2', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('offers switchboard.v2, sends a bare hello first and is open after the welcome', async () => {
    const { client, socket } = setup();
    const connected = client.connect();
    assert.deepEqual(socket(0).protocols, [V2]);
    assert.deepEqual(welcome(socket(0)), { type: 'hello' });
    const w = await connected;
    assert.equal(w.session, 'tok-1');
    assert.equal(client.protocol, 'v2');
    assert.deepEqual(client.resumePoint, { session: 'tok-1', id: 'id-1', epoch: EPOCH, since: 10 });
  });

  it('gives every send a unique ref, resolves it with the seq of its echo, and emits acked', async () => {
    const { client, socket, acked } = setup();
    const connected = client.connect();
    welcome(socket(0));
    await connected;
    const first = client.send('one');
    const second = client.setNick('ada');
    const [m, n] = after(socket(0));
    assert.deepEqual([m?.type, m?.message, n?.type, n?.nickname], ['message', 'one', 'nick', 'ada']);
    assert.equal(typeof m?.ref, 'string');
    assert.notEqual(m?.ref, n?.ref);
    assert.equal(client.pending, 2);
    socket(0).frame({ ...message(11, 'one', { ref: m?.ref }), id: 'id-1' });
    socket(0).frame({
      type: 'nick_update',
      id: 'id-1',
      nickname: 'ada',
      previous: 'AnonymousUser1',
      message: 'x',
      time: 1,
      seq: 12,
      epoch: EPOCH,
      ref: n?.ref,
    });
    assert.deepEqual(await first, { ref: m?.ref, kind: 'message', text: 'one', seq: 11, epoch: EPOCH });
    assert.equal((await second)?.seq, 12);
    assert.deepEqual(
      acked.map((a) => a.seq),
      [11, 12],
    );
    assert.equal(client.pending, 0);
    assert.equal(client.nickname, 'ada');
  });

  it("does not take a ref echoed on another client's event as its own acknowledgement", async () => {
    const { client, socket } = setup();
    const connected = client.connect();
    welcome(socket(0));
    await connected;
    void client.send('mine');
    const ref = after(socket(0))[0]?.ref;
    socket(0).frame(message(11, 'not mine', { ref }));
    assert.equal(client.pending, 1);
  });

  it('delivers broadcasts in seq order exactly once: drops seq <= last, reports a gap', async () => {
    const { client, socket, delivered, gaps } = setup();
    const seen: number[] = [];
    client.on('frame', (f) => 'seq' in f && typeof f.seq === 'number' && f.type !== 'welcome' && seen.push(f.seq));
    const connected = client.connect();
    welcome(socket(0), { seq: 10 });
    await connected;
    for (const seq of [10, 11, 12, 11, 12, 13, 9, 15]) socket(0).frame(message(seq, `m${seq}`));
    assert.deepEqual(
      delivered.map((d) => d.seq),
      [11, 12, 13, 15],
    );
    assert.deepEqual(seen, [11, 12, 13, 15], 'duplicates do not reach "frame" either');
    assert.deepEqual(gaps, [{ reason: 'seq', epoch: EPOCH, from: 14, to: 14 }]);
    assert.deepEqual(client.position, { epoch: EPOCH, seq: 15 });
  });

  it('starts over when a live event comes from a new epoch, and says so', async () => {
    const { client, socket, delivered, gaps } = setup();
    const connected = client.connect();
    welcome(socket(0), { seq: 10 });
    await connected;
    socket(0).frame(message(11, 'old'));
    socket(0).frame(message(1, 'new world', { epoch: 'ep-2' }));
    socket(0).frame(message(2, 'next', { epoch: 'ep-2' }));
    socket(0).frame(message(1, 'again', { epoch: 'ep-2' }));
    assert.deepEqual(
      delivered.map((d) => d.message),
      ['old', 'new world', 'next'],
    );
    assert.deepEqual(gaps, [{ reason: 'epoch', previous: EPOCH, epoch: 'ep-2' }]);
    assert.deepEqual(client.resumePoint, { session: 'tok-1', id: 'id-1', epoch: 'ep-2', since: 2 });
  });

  it('queues sends while reconnecting, resumes with session/since/epoch, and resends unacknowledged frames with the same ref', async () => {
    const { client, socket, delivered, failures } = setup({ nickname: 'ada' });
    const connected = client.connect();
    welcome(socket(0), { nickname: 'ada', seq: 10 });
    await connected;
    assert.deepEqual(after(socket(0)), [], 'already called ada: no rename');
    socket(0).frame(message(11, 'before'));
    const inFlight = client.send('in flight');
    const ref1 = after(socket(0))[0]?.ref;

    socket(0).drop(1006);
    assert.equal(client.state, 'reconnecting');
    const duringDrop = client.send('typed during the drop');
    assert.equal(socket(0).sent.length, 2, 'nothing written while down');
    mock.timers.tick(100);

    const hello = welcome(socket(1), { nickname: 'ada', seq: 11, resumed: true, node: 'gw-2' });
    assert.deepEqual(hello, { type: 'hello', session: 'tok-1', since: 11, epoch: EPOCH });
    const resent = after(socket(1));
    assert.deepEqual(
      resent.map((f) => f.message),
      ['in flight', 'typed during the drop'],
    );
    assert.equal(resent[0]?.ref, ref1, 'the same ref as before the drop');
    const ref2 = resent[1]?.ref;

    // The replay carries the echo of the frame that made it before the drop; the
    // retry of it is answered with an ack; the other one is broadcast now.
    socket(1).frame({ ...message(12, 'in flight', { ref: ref1 }), id: 'id-1' });
    socket(1).frame({ type: 'ack', id: 'id-1', nickname: 'ada', message: 'Already sent', ref: ref1, seq: 12, epoch: EPOCH });
    socket(1).frame({ ...message(13, 'typed during the drop', { ref: ref2 }), id: 'id-1' });
    assert.equal((await inFlight)?.seq, 12);
    assert.equal((await duringDrop)?.seq, 13);
    assert.deepEqual(
      delivered.map((d) => d.seq),
      [11, 12, 13],
    );
    assert.deepEqual(failures, []);
    assert.equal(client.nickname, 'ada');
    assert.ok(!after(socket(1)).some((f) => f.type === 'nick'), 'a resumed session keeps its name: no rename');
  });

  it('settles a frame acknowledged by an ack frame alone', async () => {
    const { client, socket } = setup();
    const connected = client.connect();
    welcome(socket(0));
    await connected;
    const sent = client.send('already there');
    const ref = after(socket(0))[0]?.ref as string;
    socket(0).frame({ type: 'ack', id: 'id-1', nickname: 'n', message: 'Already sent', ref, seq: 7, epoch: EPOCH });
    assert.deepEqual(await sent, { ref, kind: 'message', text: 'already there', seq: 7, epoch: EPOCH });
  });

  it('retries BUS_UNAVAILABLE and RATE_LIMITED after a backoff with the same ref; other errors are final', async () => {
    const { client, socket, rejected } = setup({ sendRetry: { initialDelayMs: 200, jitter: 0 } });
    const connected = client.connect();
    welcome(socket(0));
    await connected;
    const line = client.send('through the outage');
    const ref = after(socket(0))[0]?.ref;
    const error = (code: string, r: unknown) => ({ type: 'error', id: 'id-1', nickname: 'n', code, message: `${code}!`, ref: r });
    socket(0).frame(error('BUS_UNAVAILABLE', ref));
    mock.timers.tick(199);
    assert.equal(after(socket(0)).length, 1, 'waits the backoff');
    mock.timers.tick(1);
    assert.deepEqual(
      after(socket(0)).map((f) => f.ref),
      [ref, ref],
    );
    socket(0).frame(error('RATE_LIMITED', ref));
    mock.timers.tick(400);
    assert.deepEqual(
      after(socket(0)).map((f) => f.ref),
      [ref, ref, ref],
      'the second delay is doubled',
    );
    socket(0).frame({ ...message(11, 'through the outage', { ref }), id: 'id-1' });
    assert.equal((await line)?.seq, 11);

    const bad = client.setNick('bob');
    const badRef = after(socket(0))[3]?.ref;
    socket(0).frame(error('NICK_INVALID', badRef));
    await assert.rejects(bad, (err: ClientError) => err.code === 'NICK_INVALID' && err.message === 'NICK_INVALID!');
    assert.deepEqual(
      rejected.map((r) => [r.ref, r.error.code]),
      [[badRef, 'NICK_INVALID']],
    );
    mock.timers.tick(60_000);
    assert.equal(after(socket(0)).length, 4, 'a final error is not retried');
  });

  it("waits out the server's retry hint when it is longer than the backoff", async () => {
    const { client, socket } = setup({ sendRetry: { initialDelayMs: 200, jitter: 0 } });
    const connected = client.connect();
    welcome(socket(0), { room: 'lobby' });
    await connected;
    const asked = client.who();
    const ref = after(socket(0))[0]?.ref;
    socket(0).frame({ type: 'error', id: 'id-1', nickname: 'n', code: 'RATE_LIMITED', message: 'slow down', ref, retryAfterMs: 1_500 });
    mock.timers.tick(1_499);
    assert.equal(after(socket(0)).length, 1, 'not before the hint');
    mock.timers.tick(1);
    assert.deepEqual(
      after(socket(0)).map((f) => [f.type, f.ref]),
      [
        ['who', ref],
        ['who', ref],
      ],
    );
    socket(0).frame({ type: 'error', id: 'id-1', nickname: 'n', code: 'RATE_LIMITED', message: 'slow down', ref, retryAfterMs: 5 });
    mock.timers.tick(399);
    assert.equal(after(socket(0)).length, 2, 'a shorter hint does not cut the backoff short');
    mock.timers.tick(1);
    assert.equal(after(socket(0)).length, 3);
    socket(0).frame({
      type: 'members',
      id: 'id-1',
      nickname: 'n',
      message: '1 person in #lobby: n',
      room: 'lobby',
      members: [],
      count: 1,
      ref,
    });
    assert.equal((await asked).count, 1);
  });

  it('resends a frame waiting out its backoff at once after the next welcome', async () => {
    const { client, socket } = setup({ sendRetry: { initialDelayMs: 5_000, jitter: 0 }, ackTimeoutMs: 60_000 });
    const connected = client.connect();
    welcome(socket(0));
    await connected;
    void client.send('x');
    const ref = after(socket(0))[0]?.ref;
    socket(0).frame({ type: 'error', id: 'id-1', nickname: 'n', code: 'BUS_UNAVAILABLE', message: 'down', ref });
    socket(0).drop(1012);
    mock.timers.tick(100);
    welcome(socket(1), { resumed: true });
    assert.deepEqual(
      after(socket(1)).map((f) => f.ref),
      [ref],
    );
    mock.timers.tick(5_000);
    assert.equal(after(socket(1)).length, 1, 'the cancelled backoff does not send it twice');
  });

  for (const [label, fields, reason, missed] of [
    ['a new session (new id)', { id: 'id-9', session: 'tok-9', seq: 40 }, 'session-expired', { from: 13, to: 40 }],
    ['a new session that kept its id', { session: 'tok-9', seq: 40 }, 'session-expired', { from: 13, to: 40 }],
    ['a new epoch', { epoch: 'ep-2', seq: 3 }, 'epoch-changed', undefined],
    ['history that was trimmed', { seq: 40 }, 'history-unavailable', { from: 13, to: 40 }],
  ] as const) {
    it(`emits resumeFailed for ${label}, and delivers from the new position`, async () => {
      const { client, socket, failures, delivered } = setup();
      const connected = client.connect();
      welcome(socket(0), { seq: 10 });
      await connected;
      socket(0).frame(message(11, 'a'));
      socket(0).frame(message(12, 'b'));
      socket(0).drop(1006);
      mock.timers.tick(100);
      welcome(socket(1), { resumed: false, ...fields });
      assert.equal(failures.length, 1);
      const failure = failures[0]!;
      assert.equal(failure.reason, reason);
      assert.deepEqual(failure.previous, { session: 'tok-1', id: 'id-1', epoch: EPOCH, since: 12 });
      assert.deepEqual(failure.missed, missed);
      const next = (fields.seq ?? 0) + 1;
      socket(1).frame(message(next, 'after', { epoch: fields.epoch ?? EPOCH }));
      assert.deepEqual(
        delivered.map((d) => d.message),
        ['a', 'b', 'after'],
      );
    });
  }

  it('takes its name back with a rename after a resume that lost the session', async () => {
    const { client, socket, failures } = setup({ nickname: 'ada' });
    const connected = client.connect();
    welcome(socket(0), { nickname: 'AnonymousUser1' });
    await connected;
    const rename = after(socket(0))[0];
    assert.deepEqual([rename?.type, rename?.nickname], ['nick', 'ada']);
    socket(0).frame({
      type: 'nick_update',
      id: 'id-1',
      nickname: 'ada',
      previous: 'AnonymousUser1',
      message: 'x',
      time: 1,
      seq: 11,
      epoch: EPOCH,
      ref: rename?.ref,
    });
    socket(0).drop(1006);
    mock.timers.tick(100);
    welcome(socket(1), { id: 'id-2', nickname: 'AnonymousUser2', session: 'tok-2', seq: 30 });
    assert.equal(failures[0]?.reason, 'session-expired');
    const again = after(socket(1))[0];
    assert.deepEqual([again?.type, again?.nickname], ['nick', 'ada']);
  });

  it('resumes the session given in options.resume on its first connection (a reloaded page)', async () => {
    const { client, socket, failures } = setup({ resume: { session: 'saved', id: 'id-5', epoch: EPOCH, since: 77 } });
    const connected = client.connect();
    const hello = welcome(socket(0), { id: 'id-5', session: 'saved', seq: 77, resumed: true });
    await connected;
    assert.deepEqual(hello, { type: 'hello', session: 'saved', since: 77, epoch: EPOCH });
    assert.deepEqual(failures, []);
    assert.throws(
      () => setup({ resume: { session: '', id: 'x', epoch: 'e', since: 1 } }),
      /resume must be \{ session, id, epoch, since \}/,
    );
  });

  for (const code of [1001, 1006, 1012]) {
    it(`reconnects and resumes after close ${code}`, async () => {
      const { client, sockets, socket } = setup();
      const connected = client.connect();
      welcome(socket(0));
      await connected;
      socket(0).drop(code);
      assert.equal(client.state, 'reconnecting');
      mock.timers.tick(100);
      assert.equal(sockets.length, 2);
      socket(1).open(V2);
      assert.equal(socket(1).sentJson[0]?.session, 'tok-1');
    });
  }

  for (const code of TERMINAL_CLOSE_CODES) {
    it(`stays closed after close ${code} and fails what is waiting with CLOSED`, async () => {
      const { client, sockets, socket, rejected } = setup();
      const connected = client.connect();
      welcome(socket(0));
      await connected;
      const waiting = client.send('never acknowledged');
      socket(0).drop(code);
      assert.equal(client.state, 'closed');
      await assert.rejects(waiting, (err: ClientError) => err.code === 'CLOSED');
      assert.equal(rejected[0]?.error.code, 'CLOSED');
      mock.timers.tick(60_000);
      assert.equal(sockets.length, 1);
    });
  }

  it('closes with 1000 on close(), and forgets the session', async () => {
    const { client, socket } = setup();
    const connected = client.connect();
    welcome(socket(0));
    await connected;
    const waiting = client.send('late');
    const closing = client.close();
    assert.deepEqual(socket(0).closedWith, { code: 1000, reason: '' });
    socket(0).finishClose();
    await closing;
    await assert.rejects(waiting, (err: ClientError) => err.code === 'CLOSED');
    assert.equal(client.resumePoint, undefined);
    assert.throws(
      () => client.send('after close'),
      (err: ClientError) => err.code === 'NOT_OPEN',
    );
  });

  it('never closes with 1000 when it abandons a stalled attempt: the session must survive', () => {
    const { client, socket } = setup({ connectTimeoutMs: 1_000 });
    void client.connect();
    socket(0).open(V2);
    mock.timers.tick(1_000);
    assert.notEqual(socket(0).closedWith?.code, 1000);
    assert.equal(client.state, 'reconnecting');
  });

  it('bounds the outbox: past maxOutbox, send throws OUTBOX_FULL and queues nothing', () => {
    const { client } = setup({ maxOutbox: 2 });
    void client.connect();
    void client.send('1');
    void client.send('2');
    assert.throws(
      () => client.send('3'),
      (err: ClientError) => err.code === 'OUTBOX_FULL',
    );
    assert.equal(client.pending, 2);
  });

  it('measures the v2 frame, ref included, against maxMessageBytes', () => {
    const { client } = setup();
    void client.connect();
    assert.throws(
      () => client.send('x'.repeat(500)),
      (err: ClientError) => err.code === 'MESSAGE_TOO_BIG',
    );
    assert.equal(client.pending, 0);
  });

  it('falls back to v1 when the server answers without the subprotocol: queued lines go out as text', async () => {
    const { client, socket } = setup();
    const connected = client.connect();
    const queued = client.send('typed early');
    socket(0).accept();
    await connected;
    assert.equal(client.protocol, 'v1');
    assert.deepEqual(socket(0).sent, ['typed early']);
    assert.equal(await queued, undefined);
  });

  it('speaks the seed protocol only with protocol: v1', () => {
    const { client, socket } = setup({ protocol: 'v1' });
    void client.connect();
    assert.equal(socket(0).protocols, undefined);
    assert.throws(() => setup({ protocol: 'v3' as never }), /protocol must be "v1" or "v2", got "v3"/);
    assert.throws(() => setup({ maxOutbox: 0 }), /maxOutbox must be a whole number > 0, got 0/);
  });
});

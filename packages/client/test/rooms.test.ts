import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { JoinedFrame, MessageFrame } from '@switchboard/protocol';
import { ClientError } from '../src/index.js';
import type { FakeSocket } from './fake-socket.js';
import { EPOCH, after, message, setup, welcome, welcomeFrame, type WelcomeFields } from './v2-harness.js';

/** The epoch of room `dev`'s sequence: each room has its own. */
const DEV_EPOCH = 'ep-dev';

/** A client welcomed in `lobby` at seq 10, recording what the rooms tests look at. */
async function inLobby(options: Parameters<typeof setup>[0] = {}, fields: WelcomeFields = {}) {
  const t = setup(options);
  const history: MessageFrame[] = [];
  const joined: JoinedFrame[] = [];
  const frames: string[] = [];
  t.client.on('history', (h) => history.push(h));
  t.client.on('joined', (j) => joined.push(j));
  t.client.on('frame', (f) => frames.push(f.type));
  const connected = t.client.connect();
  welcome(t.socket(0), { room: 'lobby', ...fields });
  await connected;
  return { ...t, history, joined, frames };
}

/** A chat line of `room` (lobby unless told). */
function line(seq: number, text: string, extra: Record<string, unknown> = {}) {
  return message(seq, text, { room: 'lobby', ...extra });
}

/** A chat line of `dev`, in dev's epoch. */
function devLine(seq: number, text: string, extra: Record<string, unknown> = {}) {
  return message(seq, text, { room: 'dev', epoch: DEV_EPOCH, ...extra });
}

function joinedFrame(room: string, seq: number, ref?: string, epoch = DEV_EPOCH) {
  return { type: 'joined', id: 'id-1', nickname: 'AnonymousUser1', message: `You are in #${room}.`, room, epoch, seq, ...(ref && { ref }) };
}

/** join() and answer it as a v2 gateway would: `joined` with the request's ref. */
async function joinDev(socket: FakeSocket, join: () => Promise<JoinedFrame>, seq = 100): Promise<JoinedFrame> {
  const done = join();
  const request = socket.sentJson.at(-1);
  assert.equal(request?.type, 'join');
  socket.frame(joinedFrame('dev', seq, request?.ref as string));
  return done;
}

describe('SwitchboardClient rooms (protocol v2)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('starts in the room the welcome names, and has no room before it', async () => {
    const t = setup();
    assert.equal(t.client.room, undefined);
    const connected = t.client.connect();
    welcome(t.socket(0), { room: 'lobby' });
    await connected;
    assert.equal(t.client.room, 'lobby');
    assert.deepEqual(t.client.resumePoint, { session: 'tok-1', id: 'id-1', room: 'lobby', epoch: EPOCH, since: 10 });
  });

  it('joins with a ref, resolves with the joined frame, and moves room, position and resume point', async () => {
    const { client, socket, joined } = await inLobby();
    const done = client.join('#Dev');
    const [request] = after(socket(0));
    assert.deepEqual(request, { type: 'join', room: 'dev', ref: request?.ref });
    assert.equal(typeof request?.ref, 'string');
    assert.equal(client.room, 'lobby', 'still in lobby until the server says otherwise');
    assert.equal(client.pending, 1);
    socket(0).frame(joinedFrame('dev', 100, request?.ref as string));
    const frame = await done;
    assert.equal(frame.room, 'dev');
    assert.equal(frame.seq, 100);
    assert.deepEqual(
      joined.map((j) => j.room),
      ['dev'],
    );
    assert.equal(client.room, 'dev');
    assert.equal(client.pending, 0);
    assert.deepEqual(client.position, { epoch: DEV_EPOCH, seq: 100 });
    assert.deepEqual(client.resumePoint, { session: 'tok-1', id: 'id-1', room: 'dev', epoch: DEV_EPOCH, since: 100 });
  });

  it('refuses a bad room name at once, and rejects a join the server refuses with its code', async () => {
    const { client, socket, rejected } = await inLobby();
    for (const bad of ['', 'no/slash', 'x'.repeat(33), 'été']) {
      assert.throws(
        () => client.join(bad),
        (err: ClientError) => err instanceof ClientError && err.code === 'ROOM_INVALID',
      );
    }
    assert.deepEqual(after(socket(0)), [], 'nothing was sent');

    const done = client.join('crowded');
    const ref = after(socket(0))[0]?.ref;
    socket(0).frame({ type: 'error', id: 'id-1', nickname: 'n', code: 'ROOM_LIMIT', message: 'No room for a new room.', ref });
    await assert.rejects(done, (err: ClientError) => err.code === 'ROOM_LIMIT' && err.message === 'No room for a new room.');
    assert.deepEqual(
      rejected.map((r) => [r.kind, r.text, r.error.code]),
      [['join', 'crowded', 'ROOM_LIMIT']],
    );
    assert.equal(client.room, 'lobby');
  });

  it('delivers the recent lines after a joined as history events, apart from the live order', async () => {
    const { client, socket, delivered, history, gaps, frames } = await inLobby();
    await joinDev(socket(0), () => client.join('dev'), 100);
    socket(0).batch([
      devLine(97, 'old 1', { history: true }),
      devLine(99, 'old 2', { history: true }),
      devLine(99, 'old 2 again', { history: true }),
      devLine(100, 'old 3', { history: true }),
      devLine(101, 'not history: after the start', { history: true }),
      devLine(101, 'live 1'),
      devLine(102, 'live 2'),
    ]);
    assert.deepEqual(
      history.map((h) => [h.seq, h.message, h.history]),
      [
        [97, 'old 1', true],
        [99, 'old 2', true],
        [100, 'old 3', true],
      ],
    );
    assert.deepEqual(
      delivered.map((d) => d.message),
      ['live 1', 'live 2'],
      'history lines are never message events',
    );
    assert.deepEqual(gaps, [], 'history lines are neither gaps nor duplicates');
    assert.deepEqual(frames.slice(-5), ['message', 'message', 'message', 'message', 'message'], 'history lines are frames too');
    assert.deepEqual(client.resumePoint?.since, 102, 'history lines do not move the resume point');
  });

  it('delivers the recent lines after a welcome as history events too', async () => {
    const t = setup();
    const history: string[] = [];
    t.client.on('history', (h) => history.push(h.message));
    const connected = t.client.connect();
    t.socket(0).open('switchboard.v2');
    t.socket(0).batch([welcomeFrame({ room: 'lobby', seq: 10 }), line(9, 'before you came', { history: true }), line(11, 'hello')]);
    await connected;
    assert.deepEqual(history, ['before you came']);
    assert.deepEqual(
      t.delivered.map((d) => d.message),
      ['hello'],
    );
  });

  it('restarts the order at the joined position: a new sequence, no gap, no epoch change; late lines of the room left are dropped', async () => {
    const { client, socket, delivered, gaps, frames } = await inLobby();
    socket(0).frame(line(11, 'lobby 11'));
    socket(0).frame(line(12, 'lobby 12'));
    const mine = client.send('sent in lobby, echoed late');
    const ref = after(socket(0))[0]?.ref;
    await joinDev(socket(0), () => client.join('dev'), 500);
    const count = frames.length;
    socket(0).frame(line(13, 'late lobby line'));
    socket(0).frame({ ...line(14, 'sent in lobby, echoed late', { ref }), id: 'id-1' });
    assert.equal(frames.length, count, 'the room left: not even a frame event');
    assert.deepEqual(await mine, { ref, kind: 'message', text: 'sent in lobby, echoed late', room: 'lobby', seq: 14, epoch: EPOCH });
    socket(0).frame(devLine(501, 'dev 501'));
    socket(0).frame(devLine(501, 'dev 501 again'));
    socket(0).frame(devLine(502, 'dev 502'));
    assert.deepEqual(
      delivered.map((d) => d.message),
      ['lobby 11', 'lobby 12', 'dev 501', 'dev 502'],
    );
    assert.deepEqual(gaps, []);
    socket(0).frame(devLine(504, 'dev 504'));
    assert.deepEqual(gaps, [{ reason: 'seq', epoch: DEV_EPOCH, from: 503, to: 503 }], 'gaps are still told, within the room');
    assert.deepEqual(client.position, { epoch: DEV_EPOCH, seq: 504 });
  });

  it('resumes the room it joined: the hello names the room, and the session goes on there', async () => {
    const { client, socket, delivered, history, failures } = await inLobby();
    await joinDev(socket(0), () => client.join('dev'), 100);
    socket(0).frame(devLine(99, 'old', { history: true }));
    socket(0).frame(devLine(101, 'dev 101'));
    socket(0).drop(1006);
    mock.timers.tick(100);
    const hello = welcome(socket(1), { room: 'dev', epoch: DEV_EPOCH, seq: 101, resumed: true });
    assert.deepEqual(hello, { type: 'hello', session: 'tok-1', since: 101, epoch: DEV_EPOCH, room: 'dev' });
    socket(1).frame(devLine(99, 'old', { history: true }));
    socket(1).frame(devLine(101, 'dev 101', { history: true }));
    socket(1).frame(devLine(102, 'dev 102'));
    assert.deepEqual(
      history.map((h) => h.message),
      ['old'],
      'history the client had already delivered is not delivered again',
    );
    assert.deepEqual(
      delivered.map((d) => d.message),
      ['dev 101', 'dev 102'],
    );
    assert.deepEqual(failures, []);
    assert.equal(client.room, 'dev');
    assert.deepEqual(after(socket(1)), [], 'the session is in dev: no join again');
  });

  it('joins its room again after a reconnect that starts a new session in lobby', async () => {
    const { client, socket, failures, joined } = await inLobby();
    await joinDev(socket(0), () => client.join('dev'), 100);
    socket(0).drop(1006);
    mock.timers.tick(100);
    welcome(socket(1), { id: 'id-2', session: 'tok-2', room: 'lobby', seq: 40 });
    assert.equal(failures[0]?.reason, 'session-expired');
    assert.equal(failures[0]?.missed, undefined, 'another room: its seqs say nothing of what was missed');
    assert.equal(client.room, 'lobby');
    const [rejoin] = after(socket(1));
    assert.deepEqual([rejoin?.type, rejoin?.room], ['join', 'dev']);
    socket(1).frame(joinedFrame('dev', 120, rejoin?.ref as string));
    assert.equal(client.room, 'dev');
    assert.equal(joined.length, 2);
  });

  it('joins options.room after the first welcome, and the room of options.resume after a failed resume', async () => {
    const first = await inLobby({ room: '#Ops' });
    assert.deepEqual(
      after(first.socket(0)).map((f) => [f.type, f.room]),
      [['join', 'ops']],
    );
    assert.throws(
      () => setup({ room: 'no way!' }),
      (err: ClientError) => err.code === 'ROOM_INVALID',
    );

    const resume = { session: 'saved', id: 'id-5', room: 'dev', epoch: DEV_EPOCH, since: 7 };
    const second = setup({ resume });
    const connected = second.client.connect();
    const hello = welcome(second.socket(0), { id: 'id-6', session: 'tok-6', room: 'lobby' });
    await connected;
    assert.deepEqual(hello, { type: 'hello', session: 'saved', since: 7, epoch: DEV_EPOCH, room: 'dev' });
    assert.deepEqual(
      after(second.socket(0)).map((f) => [f.type, f.room]),
      [['join', 'dev']],
    );
    assert.throws(() => setup({ resume: { ...resume, room: 'Not A Room' } }), /resume must be/);
  });

  it('sends a join still waiting again after a reconnect, with its ref; an ack for it resolves it', async () => {
    const { client, socket } = await inLobby();
    const done = client.join('dev');
    const ref = after(socket(0))[0]?.ref;
    socket(0).drop(1006);
    mock.timers.tick(100);
    // The join went through before the drop: the session resumes in dev.
    welcome(socket(1), { room: 'dev', epoch: DEV_EPOCH, seq: 100, resumed: true });
    assert.equal(client.room, 'dev');
    assert.deepEqual(after(socket(1)), [{ type: 'join', room: 'dev', ref }], 'the same ref, sent once');
    socket(1).frame({ type: 'ack', id: 'id-1', nickname: 'n', message: 'Already sent', ref, room: 'dev', seq: 100, epoch: DEV_EPOCH });
    const frame = await done;
    assert.deepEqual([frame.type, frame.room, frame.seq, frame.ref], ['joined', 'dev', 100, ref]);
    assert.equal(client.pending, 0);
  });

  it('does not take the ref of a join on a presence notice for its answer', async () => {
    const { client, socket } = await inLobby();
    const done = client.join('dev');
    const ref = after(socket(0))[0]?.ref as string;
    socket(0).frame({
      type: 'notification',
      room: 'lobby',
      id: 'id-1',
      nickname: 'AnonymousUser1',
      message: 'AnonymousUser1 has left',
      event: 'left',
      time: 1,
      seq: 11,
      epoch: EPOCH,
      ref,
    });
    assert.equal(client.pending, 1);
    socket(0).frame(joinedFrame('dev', 100, ref));
    assert.equal((await done).room, 'dev');
  });

  it('asks who and rooms with refs, and resolves with the answers (also as events)', async () => {
    const { client, socket } = await inLobby();
    const seen: string[] = [];
    client.on('members', (m) => seen.push(`members:${m.count}`));
    client.on('rooms', (r) => seen.push(`rooms:${r.rooms.length}`));
    const who = client.who();
    const rooms = client.rooms();
    const [w, r] = after(socket(0));
    assert.deepEqual([w?.type, r?.type], ['who', 'rooms']);
    assert.notEqual(w?.ref, r?.ref);
    const me = { id: 'id-1', nickname: 'AnonymousUser1' };
    socket(0).frame({ type: 'rooms', ...me, message: 'Rooms: #lobby (2)', rooms: [{ room: 'lobby', count: 2 }], ref: r?.ref });
    const members = [
      { id: 'id-1', nickname: 'AnonymousUser1' },
      { id: 'id-2', nickname: 'bob' },
    ];
    socket(0).frame({ type: 'members', ...me, message: '2 people in #lobby', room: 'lobby', members, count: 2, ref: w?.ref });
    assert.deepEqual((await who).members, members);
    assert.deepEqual((await rooms).rooms, [{ room: 'lobby', count: 2 }]);
    assert.deepEqual(seen, ['rooms:1', 'members:2']);
    assert.equal(client.pending, 0);
  });

  it('maps /join, /who, /rooms and /help typed in submit() to the typed requests, and refuses other slash words', async () => {
    const { client, socket } = await inLobby();
    void client.submit('/join #Dev extra words');
    void client.submit('/who');
    void client.submit('/rooms');
    void client.submit('/help');
    void client.submit('/ joinery is a chat line');
    assert.throws(
      () => void client.submit('/joinery is not'),
      (err: ClientError) => err.code === 'UNKNOWN_COMMAND',
    );
    assert.deepEqual(
      after(socket(0)).map(({ ref: _ref, ...rest }) => rest),
      [
        { type: 'join', room: 'dev-extra-words' },
        { type: 'who' },
        { type: 'rooms' },
        { type: 'help' },
        { type: 'message', message: '/ joinery is a chat line' },
      ],
    );
    assert.throws(
      () => client.submit('/join'),
      (err: ClientError) => err.code === 'ROOM_INVALID',
    );
  });

  it('rejects a rename to a taken name with NICK_TAKEN, keeps its name, and does not try it again', async () => {
    const { client, socket, rejected } = await inLobby();
    const renamed = client.setNick('Ada');
    const ref = after(socket(0))[0]?.ref;
    socket(0).frame({
      type: 'error',
      id: 'id-1',
      nickname: 'AnonymousUser1',
      code: 'NICK_TAKEN',
      message: 'That nickname is taken (names are unique, whatever their case): choose another.',
      ref,
    });
    await assert.rejects(
      renamed,
      (err: ClientError) => err instanceof ClientError && err.code === 'NICK_TAKEN' && /taken/.test(err.message),
    );
    assert.equal(rejected[0]?.error.code, 'NICK_TAKEN');
    assert.equal(client.nickname, 'AnonymousUser1');
    socket(0).drop(1006);
    mock.timers.tick(100);
    welcome(socket(1), { id: 'id-2', session: 'tok-2', room: 'lobby', nickname: 'AnonymousUser2' });
    // A new session takes back the name the client had (not the one refused); taken too, it stops there.
    const again = after(socket(1));
    assert.deepEqual(
      again.map((f) => [f.type, f.nickname]),
      [['nick', 'AnonymousUser1']],
    );
    socket(1).frame({ type: 'error', id: 'id-2', nickname: 'AnonymousUser2', code: 'NICK_TAKEN', message: 'taken', ref: again[0]?.ref });
    await Promise.resolve();
    assert.equal(client.nickname, 'AnonymousUser2');
    socket(1).drop(1006);
    mock.timers.tick(100);
    welcome(socket(2), { id: 'id-3', session: 'tok-3', room: 'lobby', nickname: 'AnonymousUser3' });
    assert.deepEqual(
      after(socket(2)).map((f) => [f.type, f.nickname]),
      [['nick', 'AnonymousUser2']],
      'never the refused names',
    );
  });

  it('refuses rooms on a server whose welcome names no room (older than rooms)', async () => {
    const t = setup();
    const connected = t.client.connect();
    welcome(t.socket(0));
    await connected;
    assert.throws(
      () => t.client.join('dev'),
      (err: ClientError) => err.code === 'NOT_SUPPORTED',
    );
    assert.throws(
      () => t.client.who(),
      (err: ClientError) => err.code === 'NOT_SUPPORTED',
    );
    assert.deepEqual(after(t.socket(0)), []);
  });
});

describe('SwitchboardClient rooms (protocol v1)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  async function seedClient() {
    const t = setup({ protocol: 'v1' });
    const connected = t.client.connect();
    t.socket(0).open();
    t.socket(0).frame({
      type: 'welcome',
      id: 'id-1',
      nickname: 'AnonymousUser1',
      node: 'gw-1',
      message: 'Welcome!',
      epoch: EPOCH,
      seq: 10,
      room: 'lobby',
    });
    await connected;
    return t;
  }

  it('writes the seed commands and settles each request by the next answer of its kind', async () => {
    const { client, socket } = await seedClient();
    const join = client.join('dev');
    const who = client.who();
    const rooms = client.rooms();
    assert.deepEqual(socket(0).sent, ['/join dev', '/who', '/rooms']);
    assert.equal(client.pending, 3, 'requests wait for their answers');
    const me = { id: 'id-1', nickname: 'AnonymousUser1' };
    socket(0).frame({ type: 'joined', ...me, message: 'You are in #dev.', room: 'dev', epoch: DEV_EPOCH, seq: 3 });
    socket(0).frame({ type: 'members', ...me, message: '1 person in #dev', room: 'dev', members: [me], count: 1 });
    socket(0).frame({ type: 'rooms', ...me, message: 'Rooms: #dev (1)', rooms: [{ room: 'dev', count: 1 }] });
    assert.equal((await join).room, 'dev');
    assert.equal((await who).count, 1);
    assert.equal((await rooms).rooms[0]?.room, 'dev');
    assert.equal(client.room, 'dev');
    assert.equal(client.pending, 0);
  });

  it('rejects the oldest join with a room refusal that carries no ref', async () => {
    const { client, socket } = await seedClient();
    const join = client.join('newroom');
    socket(0).frame({ type: 'error', id: 'id-1', nickname: 'n', code: 'ROOM_LIMIT', message: 'No room for a new room.' });
    await assert.rejects(join, (err: ClientError) => err.code === 'ROOM_LIMIT');
    assert.equal(client.room, 'lobby');
  });

  it('joins its room again on every new connection, which starts in lobby', async () => {
    const { client, socket } = await seedClient();
    void client.join('dev');
    socket(0).frame({ type: 'joined', id: 'id-1', nickname: 'n', message: 'x', room: 'dev', epoch: DEV_EPOCH, seq: 3 });
    socket(0).drop(1006);
    mock.timers.tick(500);
    socket(1).open();
    socket(1).frame({
      type: 'welcome',
      id: 'id-2',
      nickname: 'AnonymousUser2',
      node: 'gw-1',
      message: 'Welcome!',
      epoch: EPOCH,
      seq: 12,
      room: 'lobby',
    });
    assert.deepEqual(socket(1).sent, ['/join dev']);
  });
});

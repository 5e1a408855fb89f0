import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { parseClientText, type BroadcastEvent, type ClientCommand } from '@switchboard/protocol';
import { Member, type LifecycleState } from '../../src/hub/member.js';
import type { Peer } from '../../src/hub/peer.js';

const peer: Peer = {
  conn: 'conn-1',
  protocol: 'v1',
  id: 'id-1',
  nickname: 'alice',
  log: pino({ level: 'silent' }),
  send: () => undefined,
  close: () => undefined,
};

const line = (message: string): ClientCommand => ({ type: 'message', message });
const event = (seq: number, room = 'lobby'): BroadcastEvent => ({
  type: 'message',
  room,
  id: 'id-2',
  nickname: 'bob',
  message: `line ${seq}`,
  time: 0,
  epoch: 'e',
  seq,
});

/** Its state now (a call, so that one assertion does not narrow the next). */
const stateOf = (member: Member): LifecycleState => member.lifecycle.state;

/** A member welcomed in #lobby, and live. */
function liveMember(): Member {
  const member = new Member(peer);
  member.enter('lobby');
  member.caughtUp();
  member.admit();
  return member;
}

describe('Member', () => {
  it('is admitting at first: frames wait in early, live events of its room in its backlog', () => {
    const member = new Member(peer);
    assert.equal(stateOf(member), 'admitting');
    assert.equal(member.room, undefined);
    assert.ok(member.keepEarly(parseClientText('one')));
    assert.ok(member.enter('lobby'));
    assert.equal(member.room, 'lobby');
    member.backlog!.push(event(1));
    assert.equal(member.admitted, false);
    assert.equal(member.present, true);
  });

  it('is welcomed once caught up: the backlog is handed over, live events reach it, frames still wait', () => {
    const member = new Member(peer);
    member.enter('lobby');
    member.backlog!.push(event(1));
    assert.deepEqual(member.caughtUp(), [event(1)]);
    assert.equal(stateOf(member), 'welcomed');
    assert.equal(member.backlog, undefined);
    assert.ok(member.keepEarly(parseClientText('two')));
  });

  it('is live once admitted, with the frames it sent meanwhile, in order', () => {
    const member = new Member(peer);
    member.keepEarly(parseClientText('one'));
    member.enter('lobby');
    member.caughtUp();
    member.keepEarly(parseClientText('two'));
    const { early, closedWith } = member.admit();
    assert.deepEqual(
      early.map((parsed) => parsed.ok && parsed.command),
      [line('one'), line('two')],
    );
    assert.equal(closedWith, undefined);
    assert.equal(stateOf(member), 'live');
    assert.equal(member.admitted, true);
    assert.equal(member.keepEarly(parseClientText('three')), false, 'the caller handles it now');
    assert.equal(member.queue(line('three')), false);
  });

  it('notes the first close while admitting or welcomed, for admission to let it go', () => {
    const member = new Member(peer);
    assert.ok(member.noteClose(1006));
    assert.ok(member.noteClose(1000));
    assert.equal(member.closedWith, 1006);
    member.enter('lobby');
    member.caughtUp();
    assert.equal(member.closedWith, 1006, 'still known once welcomed');
    assert.equal(member.admit().closedWith, 1006);
    assert.equal(member.noteClose(1000), false, 'a live member is let go at once');
  });

  it('goes quietly when admission lets it go: left, with what it sent dropped', () => {
    const member = new Member(peer);
    member.keepEarly(parseClientText('one'));
    member.noteClose(1006);
    member.leave();
    assert.equal(stateOf(member), 'left');
    assert.equal(member.present, false);
    assert.equal(member.keepEarly(parseClientText('two')), false);
  });

  it('is busy during a rename: commands wait in its queue, live events still reach it', () => {
    const member = liveMember();
    member.startCommand();
    assert.equal(stateOf(member), 'busy');
    assert.ok(member.queue(line('after')));
    assert.equal(member.backlog, undefined);
    assert.deepEqual(member.endCommand(), [line('after')]);
    assert.equal(stateOf(member), 'live');
  });

  it('arrives during a join: commands still wait, and the new room keeps its events in a backlog until it is caught up', () => {
    const member = liveMember();
    member.startCommand();
    member.queue(line('first'));
    assert.ok(member.enter('dev'));
    assert.equal(stateOf(member), 'arriving');
    assert.equal(member.room, 'dev');
    assert.equal(member.admitted, true);
    member.backlog!.push(event(7, 'dev'));
    member.queue(line('second'));
    assert.deepEqual(member.caughtUp(), [event(7, 'dev')]);
    assert.equal(stateOf(member), 'busy', 'the join is not over yet');
    assert.ok(member.queue(line('third')));
    assert.deepEqual(member.endCommand(), [line('first'), line('second'), line('third')]);
    assert.equal(stateOf(member), 'live');
  });

  it('is leaving when it closes during a command: the commands it sent before still run, then it has left', () => {
    const member = liveMember();
    member.startCommand();
    member.queue(line('bye'));
    member.leave();
    assert.equal(stateOf(member), 'leaving');
    assert.equal(member.present, false);
    assert.equal(member.admitted, false);
    assert.equal(member.enter('dev'), false, 'a join it asked for gets it no events');
    assert.equal(member.room, 'dev', 'but what it said after the join is said there');
    assert.deepEqual(member.caughtUp(), []);
    assert.deepEqual(member.endCommand(), [line('bye')]);
    assert.equal(stateOf(member), 'left');
    member.startCommand();
    assert.equal(stateOf(member), 'leaving', 'a rename it sent before closing still runs');
    assert.deepEqual(member.endCommand(), []);
    assert.equal(stateOf(member), 'left');
  });

  it('drops the backlog of a join it closed during', () => {
    const member = liveMember();
    member.startCommand();
    member.enter('dev');
    member.backlog!.push(event(1, 'dev'));
    member.leave();
    assert.equal(stateOf(member), 'leaving');
    assert.equal(member.backlog, undefined);
    assert.deepEqual(member.caughtUp(), []);
  });

  it('refuses a transition its state cannot have', () => {
    const admitting = new Member(peer);
    assert.throws(() => admitting.admit(), /cannot be admitted while admitting/);
    assert.throws(() => admitting.startCommand(), /cannot start a command while admitting/);
    const live = liveMember();
    assert.throws(() => live.enter('dev'), /cannot enter a room while live/);
    assert.throws(() => live.caughtUp(), /cannot catch up while live/);
    assert.throws(() => live.endCommand(), /cannot end a command while live/);
    live.startCommand();
    assert.throws(() => live.startCommand(), /cannot start a command while busy/);
    live.enter('dev');
    assert.throws(() => live.endCommand(), /cannot end a command while arriving/);
  });
});

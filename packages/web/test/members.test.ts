import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MemberInfo, NotificationEvent } from '@switchboard/protocol';
import { MemberList, type PresenceChange } from '../src/members.js';

let seq = 0;
const notice = (event: NotificationEvent, id: string, nickname: string, room = 'dev'): PresenceChange => ({
  type: 'notification',
  room,
  id,
  nickname,
  message: `${nickname} has ${event}`,
  event,
  time: 0,
  seq: ++seq,
  epoch: 'e',
});
const rename = (id: string, previous: string, nickname: string, room = 'dev'): PresenceChange => ({
  type: 'nick_update',
  room,
  id,
  nickname,
  previous,
  message: `Client ${previous} changed to ${nickname}`,
  time: 0,
  seq: ++seq,
  epoch: 'e',
});
const answer = (members: MemberInfo[], count = members.length, room = 'dev') => ({
  type: 'members' as const,
  id: 'me',
  nickname: 'me',
  message: '',
  room,
  members,
  count,
});
const names = (list: MemberList) => list.list.map((m) => m.nickname);

describe('MemberList, the page model of who is in the room', () => {
  it('takes a who answer, sorted by name whatever the case, and follows the notices and renames of its room', () => {
    const list = new MemberList();
    list.enter('dev');
    assert.equal(list.answered, false);
    assert.equal(
      list.answer(
        answer([
          { id: 'b', nickname: 'bob' },
          { id: 'a', nickname: 'Ada' },
        ]),
      ),
      true,
    );
    assert.deepEqual(names(list), ['Ada', 'bob']);
    assert.equal(list.change(notice('joined', 'c', 'cy')), 'changed');
    assert.equal(list.change(notice('connected', 'd', 'dee')), 'changed');
    assert.equal(list.change(notice('left', 'a', 'Ada')), 'changed');
    assert.equal(list.change(notice('disconnected', 'd', 'dee')), 'changed');
    assert.equal(list.change(rename('b', 'bob', 'rob')), 'changed');
    assert.equal(list.change(notice('left', 'zz', 'nobody')), 'unchanged');
    assert.equal(list.change(notice('joined', 'x', 'elsewhere', 'lobby')), 'unchanged', 'another room');
    assert.deepEqual(names(list), ['cy', 'rob']);
    assert.equal(list.count, 2);
  });

  it('moves the count by a summary and asks again, and counts those an answer counted but did not list', () => {
    const list = new MemberList();
    list.enter('big');
    list.answer(answer([{ id: 'a', nickname: 'a' }], 500, 'big'));
    assert.equal(list.count, 500);
    const summary: PresenceChange = {
      type: 'notification',
      room: 'big',
      id: '',
      nickname: '',
      message: '3 people joined, 1 person left',
      event: 'summary',
      joined: 3,
      left: 1,
      time: 0,
      seq: ++seq,
      epoch: 'e',
    };
    assert.equal(list.change(summary), 'ask');
    assert.equal(list.count, 502, 'the count moves by the summary at once');
    list.asking();
    list.change({ ...summary, joined: 0, left: 600, seq: ++seq });
    assert.equal(list.count, 0, 'never below 0');
    list.answer(answer([{ id: 'a', nickname: 'a' }], 400, 'big'));
    assert.equal(list.count, 400, 'an answer is the truth: summaries received while it was asked are not played again');
  });

  it('plays the notices received while a who was asked over its answer, so the newest word wins', () => {
    const list = new MemberList();
    list.enter('dev');
    list.asking();
    // The answer was taken before cy came and after bob left, but arrives after both notices.
    list.change(notice('joined', 'c', 'cy'));
    list.change(notice('left', 'b', 'bob'));
    list.answer(
      answer([
        { id: 'a', nickname: 'ada' },
        { id: 'b', nickname: 'bob' },
      ]),
    );
    assert.deepEqual(names(list), ['ada', 'cy']);
    list.change(notice('joined', 'b', 'bob'));
    list.answer(answer([{ id: 'a', nickname: 'ada' }]));
    assert.deepEqual(names(list), ['ada'], 'nothing is played again once every question is answered');
  });

  it('starts empty in a new room, and ignores an answer about another one', () => {
    const list = new MemberList();
    list.enter('lobby');
    list.answer(answer([{ id: 'a', nickname: 'ada' }], 1, 'lobby'));
    list.enter('dev');
    assert.deepEqual(names(list), []);
    assert.equal(list.answered, false);
    assert.equal(list.answer(answer([{ id: 'z', nickname: 'zed' }], 1, 'lobby')), false);
    assert.deepEqual(names(list), []);
    list.enter('dev');
    list.change(notice('joined', 'b', 'bob'));
    assert.deepEqual(names(list), ['bob'], 'entering the room it shows changes nothing');
  });
});

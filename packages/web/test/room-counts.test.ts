import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RoomInfo } from '@switchboard/protocol';
import { RoomCounts } from '../src/room-counts.js';

const answer = (rooms: RoomInfo[]) => ({ type: 'rooms' as const, id: 'me', nickname: 'me', message: '', rooms });

describe('RoomCounts, the rooms the page lists', () => {
  it('counts the current room as the people list does, the others as answered, the fullest first', () => {
    const counts = new RoomCounts();
    assert.deepEqual(counts.list('lobby', 1), [{ room: 'lobby', count: 1 }], 'its own room before any answer');
    counts.answer(
      answer([
        { room: 'dev', count: 4 },
        { room: 'lobby', count: 2 },
        { room: 'ops', count: 2 },
      ]),
    );
    assert.deepEqual(counts.list('lobby', undefined), [
      { room: 'dev', count: 4 },
      { room: 'lobby', count: 2 },
      { room: 'ops', count: 2 },
    ]);
    assert.deepEqual(counts.list('lobby', 5), [
      { room: 'lobby', count: 5 },
      { room: 'dev', count: 4 },
      { room: 'ops', count: 2 },
    ]);
    assert.deepEqual(counts.list('ops', 1), [
      { room: 'dev', count: 4 },
      { room: 'lobby', count: 2 },
      { room: 'ops', count: 1 },
    ]);
    assert.deepEqual(
      counts.list('new', 1).map((r) => r.room),
      ['dev', 'lobby', 'ops', 'new'],
      'a room the answer did not have yet',
    );
  });
});

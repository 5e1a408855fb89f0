import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HISTORY_ON_JOIN, type MessageFrame } from '@switchboard/protocol';
import { TRANSCRIPT_KEY, Transcript } from '../src/transcript.js';
import { memoryStore } from './memory-store.js';

const line = (seq: number, room = 'dev', epoch = 'e1', extra: Partial<MessageFrame> = {}): MessageFrame => ({
  type: 'message',
  room,
  epoch,
  seq,
  id: 'id-bob',
  nickname: 'bob',
  message: `line ${seq}`,
  time: 1_000 + seq,
  ...extra,
});

/** A tab that showed `seqs` in #dev and was then reloaded: what it gets back when the session resumes at `at`. */
function reloaded(store: ReturnType<typeof memoryStore>, at: { room?: string; epoch?: string; seq?: number }) {
  return new Transcript(store).resume(at);
}

describe('the transcript a tab keeps of its room', () => {
  it('gives back, after a reload that resumes, the lines shown up to the resume point, oldest first, as history', () => {
    const store = memoryStore();
    const tab = new Transcript(store);
    tab.enter('dev');
    for (const seq of [3, 4, 7]) assert.equal(tab.add(line(seq, 'dev', 'e1', { ref: 'c1-1', history: true })), true);
    tab.save();

    const back = reloaded(store, { room: 'dev', epoch: 'e1', seq: 7 });
    assert.deepEqual(
      back.map((l) => [l.seq, l.message, l.history, 'ref' in l]),
      [
        [3, 'line 3', true, false],
        [4, 'line 4', true, false],
        [7, 'line 7', true, false],
      ],
    );
  });

  it('keeps each line once: one the page shows already is refused, the same seq of another epoch is not', () => {
    const tab = new Transcript(memoryStore());
    tab.enter('dev');
    assert.equal(tab.add(line(5)), true);
    assert.equal(tab.add(line(5)), false);
    assert.equal(tab.add(line(5, 'dev', 'e2')), true);
    const store = memoryStore();
    const before = new Transcript(store);
    before.enter('dev');
    before.add(line(8));
    before.save();
    const after = new Transcript(store);
    after.resume({ room: 'dev', epoch: 'e1', seq: 8 });
    assert.equal(after.add(line(8)), false, 'a restored line is not shown again when it comes back');
    assert.equal(after.add(line(9)), true);
  });

  it('keeps the last HISTORY_ON_JOIN lines of one room only, and starts afresh in another room', () => {
    const store = memoryStore();
    const tab = new Transcript(store);
    tab.enter('dev');
    for (let seq = 1; seq <= HISTORY_ON_JOIN + 20; seq++) tab.add(line(seq));
    tab.save();
    const kept = reloaded(store, { room: 'dev', epoch: 'e1', seq: 1_000 });
    assert.equal(kept.length, HISTORY_ON_JOIN);
    assert.equal(kept[0]!.seq, 21);
    assert.equal(tab.add(line(1)), true, 'a line past the window is no longer remembered');

    tab.enter('garden');
    tab.add(line(100, 'garden', 'eg'));
    tab.save();
    assert.deepEqual(
      reloaded(store, { room: 'garden', epoch: 'eg', seq: 100 }).map((l) => l.seq),
      [100],
    );
    assert.equal(tab.add(line(101, 'dev')), true, "another room's line is shown, not kept");
  });

  it('gives back nothing of another room or epoch, and nothing after the resume point (the server replays those)', () => {
    const store = memoryStore();
    const tab = new Transcript(store);
    tab.enter('dev');
    for (const seq of [1, 2, 3]) tab.add(line(seq));
    tab.save();
    assert.deepEqual(reloaded(store, { room: 'lobby', epoch: 'e1', seq: 3 }), []);
    assert.deepEqual(reloaded(store, { room: 'dev', epoch: 'e2', seq: 3 }), []);
    assert.deepEqual(
      reloaded(store, { room: 'dev', epoch: 'e1', seq: 2 }).map((l) => l.seq),
      [1, 2],
    );
  });

  it('survives a store that is damaged, full or absent: it then keeps nothing, and throws nowhere', () => {
    const store = memoryStore();
    store.data.set(TRANSCRIPT_KEY, '{"room":"dev","lines":[{"type":"message","seq":"x"},null,7]}');
    assert.deepEqual(reloaded(store, { room: 'dev', epoch: 'e1', seq: 3 }), []);
    store.data.set(TRANSCRIPT_KEY, 'not json');
    assert.deepEqual(reloaded(store, { room: 'dev', epoch: 'e1', seq: 3 }), []);

    const tab = new Transcript(store);
    tab.enter('dev');
    tab.add(line(1));
    store.full = true;
    tab.save();
    assert.equal(store.data.has(TRANSCRIPT_KEY), false, 'a write that failed leaves no stale lines behind');

    const none = new Transcript(undefined);
    assert.deepEqual(none.resume({ room: 'dev', epoch: 'e1', seq: 1 }), []);
    assert.equal(none.add(line(1)), true);
    none.save();
    none.forget();
  });
});

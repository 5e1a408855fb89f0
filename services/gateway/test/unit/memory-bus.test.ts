import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BroadcastEvent, EventDraft } from '@switchboard/protocol';
import { MemoryBus } from '../../src/bus/memory-bus.js';

const line = (message: string, ref?: string): EventDraft => ({
  type: 'message',
  id: 'client-1',
  nickname: 'ann',
  message,
  time: 0,
  ...(ref === undefined ? {} : { ref }),
});

describe('MemoryBus', () => {
  it('numbers events 1, 2, 3 within one epoch and delivers them in that order', async () => {
    const bus = new MemoryBus({ historyMaxEvents: 10, historyMaxAgeMs: 60_000 });
    const got: BroadcastEvent[] = [];
    bus.start((e) => got.push(e));
    const results = [await bus.publish(line('a')), await bus.publish(line('b')), await bus.publish(line('c'))];
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(results.map((r) => r.seq), [1, 2, 3]);
    assert.deepEqual(got.map((e) => [e.seq, e.message]), [[1, 'a'], [2, 'b'], [3, 'c']]);
    assert.ok(got.every((e) => e.epoch === results[0]!.epoch));
  });

  it('returns the events after a position, and says so when they were trimmed or the epoch differs', async () => {
    let now = 0;
    const bus = new MemoryBus({ historyMaxEvents: 3, historyMaxAgeMs: 1_000 }, () => now);
    bus.start(() => undefined);
    for (const m of ['a', 'b', 'c', 'd', 'e']) await bus.publish(line(m));
    const { epoch } = await bus.head();
    const recent = await bus.history({ epoch, seq: 3 });
    assert.ok(recent.ok);
    assert.deepEqual(recent.events.map((e) => e.message), ['d', 'e']);
    assert.deepEqual(await bus.history({ epoch, seq: 1 }), { ok: false, head: { epoch, seq: 5 }, reason: 'history trimmed' });
    assert.equal((await bus.history({ epoch: 'other', seq: 4 })).ok, false);
    now = 5_000; // everything is older than the age limit now
    assert.equal((await bus.history({ epoch, seq: 3 })).ok, false);
    assert.deepEqual(await bus.history({ epoch, seq: 5 }), { ok: true, head: { epoch, seq: 5 }, events: [] });
  });

  it('does not publish a ref twice for the same client', async () => {
    const bus = new MemoryBus({ historyMaxEvents: 10, historyMaxAgeMs: 60_000 });
    bus.start(() => undefined);
    const first = await bus.publish(line('once', 'r1'));
    const again = await bus.publish(line('once', 'r1'));
    assert.equal(first.duplicate, false);
    assert.deepEqual(again, { ...first, duplicate: true });
    assert.equal((await bus.head()).seq, 1);
  });
});

describe('MemoryBus history limits', () => {
  it('refuses a replay longer than asked for', async () => {
    const bus = new MemoryBus({ historyMaxEvents: 10, historyMaxAgeMs: 60_000 });
    bus.start(() => undefined);
    for (const m of ['a', 'b', 'c', 'd']) await bus.publish(line(m));
    const { epoch } = await bus.head();
    assert.equal((await bus.history({ epoch, seq: 1 }, 3)).ok, true);
    assert.deepEqual(await bus.history({ epoch, seq: 0 }, 3), { ok: false, head: { epoch, seq: 4 }, reason: 'too far behind' });
  });
});

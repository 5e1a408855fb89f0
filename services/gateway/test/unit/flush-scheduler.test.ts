import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Outgoing } from '../../src/hub/peer.js';
import { BatchCache, FlushScheduler, type Flushable } from '../../src/ws/flush-scheduler.js';

/** The texts of the unmasked, short (under 126 bytes) text frames in `wire`, as a client reads them (RFC 6455). */
function framesIn(wire: Buffer): string[] {
  const texts: string[] = [];
  for (let at = 0; at < wire.length;) {
    assert.equal(wire[at], 0x81, 'a final text frame');
    const length = wire[at + 1]!;
    assert.ok(length < 126, 'a short, unmasked payload');
    texts.push(wire.subarray(at + 2, at + 2 + length).toString());
    at += 2 + length;
  }
  return texts;
}

describe('BatchCache', () => {
  const a = new Outgoing('{"type":"message","message":"a"}');
  const b = new Outgoing('{"type":"message","message":"b"}');

  it('gives the seed protocol one frame per event, back to back in one buffer, made once for every socket with the same queue', () => {
    const cache = new BatchCache();
    const wire = cache.run([a, b]);
    assert.deepEqual(framesIn(wire), [a.text, b.text]);
    assert.equal(cache.run([a, b]), wire, 'the same buffer for the next socket');
    assert.notEqual(cache.run([b, a]), wire);
    assert.deepEqual(framesIn(cache.run([a])), [a.text]);
  });

  it('gives protocol v2 one frame carrying the events one per line, made once', () => {
    const cache = new BatchCache();
    const wire = cache.batch([a, b]);
    assert.deepEqual(framesIn(wire), [`${a.text}\n${b.text}`]);
    assert.equal(cache.batch([a, b]), wire);
  });

  it('reads only the queued slots of an array its owner reuses, and keeps a copy of what it matched against', () => {
    const cache = new BatchCache();
    const outbox = [a, b, b];
    const wire = cache.run(outbox, 2);
    assert.deepEqual(framesIn(wire), [a.text, b.text], 'the slot past the count is not sent');
    outbox[1] = a; // the owner reuses its array once written
    assert.deepEqual(framesIn(cache.run(outbox, 2)), [a.text, a.text], 'a different queue is not taken for the first');
    assert.equal(cache.run([a, b], 2), wire, 'the first queue is still recognised');
    assert.deepEqual(framesIn(cache.batch([a, b, a], 2)), [`${a.text}\n${b.text}`]);
  });
});

describe('FlushScheduler', () => {
  it('flushes a quiet node on the next turn, then waits out the interval while events keep coming', async () => {
    let clock = 1_000;
    const scheduler = new FlushScheduler(20, () => clock);
    const flushed: number[] = [];
    let second: () => void = () => {};
    const secondFlush = new Promise<void>((resolve) => (second = resolve));
    const target: Flushable = {
      flush: () => {
        flushed.push(clock);
        if (flushed.length === 2) second();
      },
    };
    scheduler.schedule(target);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(flushed, [1_000], 'at once when quiet');
    clock = 1_005;
    scheduler.schedule(target);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(flushed, [1_000], 'held: the last flush was 5 ms ago');
    await secondFlush;
    assert.deepEqual(flushed, [1_000, 1_005], 'then flushed once, when the interval was over');
  });
});

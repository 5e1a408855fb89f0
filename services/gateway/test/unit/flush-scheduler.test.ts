import assert from 'node:assert/strict';
import { afterEach, describe, it, mock } from 'node:test';
import type { PausableReads } from '../../src/bus/bus.js';
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
  /** Resolves on the next turn of the event loop, once the I/O and immediates queued before it have run. */
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  // The rest's timer is mocked: the test says when the interval is over, so a
  // machine that stalls between two turns cannot end the rest early.
  afterEach(() => mock.timers.reset());

  it('flushes a quiet node on the next turn and never rests it: a lone line crosses it with no delay', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    let clock = 0;
    const steps: string[] = [];
    const reads: PausableReads = { pause: () => steps.push('pause'), resume: () => steps.push('resume') };
    const scheduler = new FlushScheduler(20, reads, () => clock);
    const target: Flushable = { flush: () => steps.push('flush') };
    for (let line = 0; line < 3; line++) {
      scheduler.schedule(target);
      await nextTurn();
      clock += 333; // 3 lines a second
    }
    assert.deepEqual(steps, ['flush', 'flush', 'flush'], 'each at once; the bus is never paused');
  });

  it('rests a busy node for the interval after each flush, pausing the bus, and flushes what came meanwhile as the rest ends', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    let clock = 0;
    const steps: string[] = [];
    const reads: PausableReads = { pause: () => steps.push('pause'), resume: () => steps.push('resume') };
    const scheduler = new FlushScheduler(20, reads, () => clock);
    const target: Flushable = { flush: () => steps.push('flush') };
    const other: Flushable = { flush: () => steps.push('flush other') };

    scheduler.schedule(target);
    await nextTurn();
    assert.deepEqual(steps, ['flush'], 'quiet until now: at once, no rest');
    clock += 5;
    scheduler.schedule(target);
    await nextTurn();
    assert.deepEqual(steps, ['flush', 'pause', 'flush'], 'a second flush within two intervals: busy, so it rests from then on');
    scheduler.schedule(target);
    scheduler.schedule(other);
    clock += 19;
    mock.timers.tick(19);
    await nextTurn();
    assert.deepEqual(steps.slice(3), [], 'resting: nothing is written before the interval is over');
    clock += 1;
    mock.timers.tick(1);
    assert.deepEqual(steps.slice(3), ['resume'], 'the bus is read as the rest ends, before the flush');
    await nextTurn();
    assert.deepEqual(
      steps.slice(3),
      ['resume', 'pause', 'flush', 'flush other'],
      'still busy: everything queued in one flush, and another rest',
    );
    clock += 20;
    mock.timers.tick(20);
    await nextTurn();
    assert.deepEqual(steps.slice(7), ['resume'], 'the rest ends with nothing to flush');
    clock += 100;
    scheduler.schedule(target);
    await nextTurn();
    assert.deepEqual(steps.slice(8), ['flush'], 'quiet again: the next event goes out at once, with no rest');
  });

  it('with no interval, flushes every turn and never pauses the bus', async () => {
    const steps: string[] = [];
    const scheduler = new FlushScheduler(0, { pause: () => steps.push('pause'), resume: () => steps.push('resume') });
    const target: Flushable = { flush: () => steps.push('flush') };
    scheduler.schedule(target);
    await nextTurn();
    scheduler.schedule(target);
    await nextTurn();
    assert.deepEqual(steps, ['flush', 'flush']);
  });
});

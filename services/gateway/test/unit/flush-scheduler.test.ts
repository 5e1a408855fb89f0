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

  it('flushes a quiet node on the next turn, then rests for the interval, pausing the bus, and flushes what came meanwhile as the rest ends', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const steps: string[] = [];
    const reads: PausableReads = { pause: () => steps.push('pause'), resume: () => steps.push('resume') };
    const scheduler = new FlushScheduler(20, reads);
    const target: Flushable = { flush: () => steps.push('flush') };
    const other: Flushable = { flush: () => steps.push('flush other') };

    scheduler.schedule(target);
    await nextTurn();
    assert.deepEqual(steps, ['pause', 'flush'], 'at once when quiet, and the bus is paused from then on');
    scheduler.schedule(target);
    scheduler.schedule(other);
    mock.timers.tick(19);
    await nextTurn();
    assert.deepEqual(steps, ['pause', 'flush'], 'resting: nothing is written before the interval is over');
    mock.timers.tick(1);
    assert.deepEqual(steps, ['pause', 'flush', 'resume'], 'the bus is read as the rest ends, before the flush');
    await nextTurn();
    assert.deepEqual(
      steps,
      ['pause', 'flush', 'resume', 'pause', 'flush', 'flush other'],
      'the bus is read before the flush, and everything queued goes in one flush',
    );
    mock.timers.tick(20);
    await nextTurn();
    assert.deepEqual(steps.slice(6), ['resume'], 'a quiet node: the rest ends with nothing to flush');
    scheduler.schedule(target);
    await nextTurn();
    assert.deepEqual(steps.slice(7), ['pause', 'flush'], 'and the next event goes out at once');
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

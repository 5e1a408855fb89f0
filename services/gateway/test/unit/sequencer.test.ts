import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { BroadcastEvent } from '@switchboard/protocol';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { Sequencer } from '../../src/hub/sequencer.js';

const logger = pino({ level: 'silent' });

/** A MemoryBus whose deliveries the test takes over: it decides what the sequencer sees, and when. */
async function setup(count: number) {
  const bus = new MemoryBus({
    historyMaxEvents: 100,
    historyMaxAgeMs: 60_000,
    historyMaxBytes: 1_000_000,
    refsPerClient: 100,
    historyOnJoin: 10,
  });
  await bus.subscribe('lobby');
  const published: BroadcastEvent[] = [];
  bus.start((e) => published.push(e));
  const seen: number[] = [];
  const sequencer = new Sequencer('lobby', bus, (e) => seen.push(e.seq), logger);
  await sequencer.init();
  for (let i = 1; i <= count; i++) {
    await bus.publish({ type: 'message', room: 'lobby', id: 'c', nickname: 'n', message: `m${i}`, time: 0 });
  }
  await new Promise((resolve) => setImmediate(resolve));
  return { sequencer, published, seen };
}

const idle = () => new Promise((resolve) => setImmediate(resolve));

describe('Sequencer', () => {
  it('passes events on in order and drops duplicates', async () => {
    const { sequencer, published, seen } = await setup(3);
    for (const i of [0, 0, 1, 1, 2]) sequencer.onEvent(published[i]!);
    assert.deepEqual(seen, [1, 2, 3]);
  });

  it('fills a gap from the history before passing newer events on', async () => {
    const { sequencer, published, seen } = await setup(5);
    sequencer.onEvent(published[0]!);
    sequencer.onEvent(published[3]!); // 2 and 3 never arrived
    sequencer.onEvent(published[4]!);
    await idle();
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  });

  it('catches up after a reconnect even when nothing newer has arrived', async () => {
    const { sequencer, published, seen } = await setup(3);
    sequencer.onEvent(published[0]!);
    sequencer.resync();
    await idle();
    assert.deepEqual(seen, [1, 2, 3]);
  });
});

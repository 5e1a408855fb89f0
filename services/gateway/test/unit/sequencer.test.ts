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
  const passed: BroadcastEvent[] = [];
  const sequencer = new Sequencer(
    'lobby',
    bus,
    (e) => {
      seen.push(e.seq);
      passed.push(e);
    },
    logger,
  );
  await sequencer.init();
  for (let i = 1; i <= count; i++) {
    await bus.publish({ type: 'message', room: 'lobby', id: 'c', nickname: 'n', message: `m${i}`, time: 0 });
  }
  await new Promise((resolve) => setImmediate(resolve));
  return { bus, sequencer, published, seen, passed };
}

/** The room's history goes back to `seq` within its epoch, as on a failover to a replica that lacked the newest writes. */
function rewind(bus: MemoryBus, seq: number): void {
  const log = (bus as unknown as { rooms: Map<string, { entries: unknown[]; first: number; seq: number }> }).rooms.get('lobby')!;
  log.entries = log.entries.slice(0, log.first + seq);
  log.seq = seq;
}

const say = (bus: MemoryBus, message: string) => bus.publish({ type: 'message', room: 'lobby', id: 'c', nickname: 'n', message, time: 0 });

/** Until the sequencer has passed `count` events (its repairs take a few turns of the event loop). */
async function untilPassed(passed: readonly BroadcastEvent[], count: number): Promise<void> {
  for (let turn = 0; turn < 100 && passed.length < count; turn++) await idle();
  assert.equal(passed.length, count, `${count} events passed on: ${passed.map((e) => e.message).join()}`);
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

  it('takes the same event again as a duplicate, not a rewind', async () => {
    const { bus, sequencer, published, seen } = await setup(3);
    for (const i of [0, 1, 2, 1]) sequencer.onEvent(published[i]!);
    await idle();
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal((await bus.head('lobby')).epoch, published[0]!.epoch);
  });

  it('starts a new epoch at once when another event comes at a seq already passed, and passes on what follows where they agree', async () => {
    const { bus, sequencer, published, passed } = await setup(5);
    for (const event of published) sequencer.onEvent(event);
    rewind(bus, 3); // the promoted replica had 1-3; 4 and 5 are lost
    await say(bus, 'x4');
    await say(bus, 'x5');
    sequencer.onEvent(published[5]!); // x4 arrives at seq 4, which already carried m4
    await untilPassed(passed, 7);
    const renewed = await bus.head('lobby');
    assert.notEqual(renewed.epoch, published[0]!.epoch, 'a new epoch');
    assert.deepEqual(
      passed.map((e) => [e.message, e.seq, e.epoch === renewed.epoch]),
      [
        ['m1', 1, false],
        ['m2', 2, false],
        ['m3', 3, false],
        ['m4', 4, false],
        ['m5', 5, false],
        ['x4', 4, true],
        ['x5', 5, true],
      ],
      'x4 and x5 in the new epoch, m1-m3 not again',
    );
    assert.deepEqual(sequencer.position(), { epoch: renewed.epoch, seq: 5 });
    // A reader still in the old epoch (at m5) is answered from where both agree: after m3.
    const resumed = await bus.history('lobby', { epoch: published[0]!.epoch, seq: 5 });
    assert.ok(resumed.ok);
    assert.deepEqual([resumed.since.seq, resumed.events.map((e) => e.message)], [3, ['x4', 'x5']]);
  });

  it('notices a rewind on a repair, when the history holds another event at its position', async () => {
    const { bus, sequencer, published, passed } = await setup(5);
    for (const event of published) sequencer.onEvent(event);
    rewind(bus, 3);
    for (const m of ['x4', 'x5', 'x6']) await say(bus, m);
    sequencer.resync(); // after a reconnect: x4-x6 were published while nothing was heard
    await untilPassed(passed, 8);
    assert.deepEqual(
      passed.slice(5).map((e) => e.message),
      ['x4', 'x5', 'x6'],
    );
    assert.notEqual(passed[7]!.epoch, published[0]!.epoch);
  });

  it("notices a rewind when the history's head is behind its position, and goes on from where they agree", async () => {
    const { bus, sequencer, published, passed } = await setup(5);
    for (const event of published) sequencer.onEvent(event);
    rewind(bus, 3);
    sequencer.resync();
    for (let turn = 0; turn < 100 && sequencer.position()?.epoch === published[0]!.epoch; turn++) await idle();
    const renewed = await bus.head('lobby');
    assert.deepEqual(sequencer.position(), { epoch: renewed.epoch, seq: 3 });
    assert.notEqual(renewed.epoch, published[0]!.epoch);
    const next = await say(bus, 'x4');
    assert.deepEqual([next.epoch, next.seq], [renewed.epoch, 4]);
    sequencer.onEvent({ type: 'message', room: 'lobby', id: 'c', nickname: 'n', message: 'x4', time: 0, seq: 4, epoch: renewed.epoch });
    await untilPassed(passed, 6);
    assert.equal(passed[5]!.message, 'x4');
  });

  it('drops a late event of an older epoch: the history says where the room stands', async () => {
    const { sequencer, published, passed } = await setup(2);
    sequencer.onEvent(published[0]!);
    sequencer.onEvent({ ...published[1]!, epoch: 'long-gone', seq: 9 });
    sequencer.onEvent(published[1]!);
    await untilPassed(passed, 2);
    for (let turn = 0; turn < 10; turn++) await idle();
    assert.deepEqual(
      passed.map((e) => [e.epoch, e.seq]),
      [
        [published[0]!.epoch, 1],
        [published[0]!.epoch, 2],
      ],
    );
  });

  it('catches up when the history was trimmed up to its position: the event at it is not needed to go on', async () => {
    const { bus, sequencer, published, seen } = await setup(5);
    for (const event of published.slice(0, 3)) sequencer.onEvent(event);
    const log = (bus as unknown as { rooms: Map<string, { first: number }> }).rooms.get('lobby')!;
    log.first += 3; // 1-3 trimmed: the history starts right after the position
    sequencer.resync();
    for (let turn = 0; turn < 100 && seen.length < 5; turn++) await idle();
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  });

  it("notices a rewind from where the bus placed this node's own line, though its echo never comes", async () => {
    const { bus, sequencer, published, passed } = await setup(5);
    for (const event of published) sequencer.onEvent(event);
    rewind(bus, 3);
    const draft = { type: 'message', room: 'lobby', id: 'c', nickname: 'n', message: 'mine', time: 0 } as const;
    const placed = await bus.publish(draft);
    assert.deepEqual([placed.epoch, placed.seq], [published[0]!.epoch, 4], 'numbered below the position, in the same epoch');
    sequencer.placed(draft, placed);
    await untilPassed(passed, 6);
    assert.equal(passed[5]!.message, 'mine');
    assert.notEqual(passed[5]!.epoch, published[0]!.epoch);
  });

  it('takes its own line placed at a seq it passed already (the echo came first) as no rewind', async () => {
    const { bus, sequencer, published } = await setup(3);
    for (const event of published) sequencer.onEvent(event);
    const { seq, epoch, ...draft } = published[2]!;
    sequencer.placed(draft, { seq, epoch });
    for (let turn = 0; turn < 10; turn++) await idle();
    assert.equal((await bus.head('lobby')).epoch, published[0]!.epoch);
  });
  it('reads again, not skipping, when a newer event is heard while the history was read up to what was heard before', async () => {
    const { bus, published } = await setup(0);
    // A promoted replica's history: its mark of what was released lags (1), so it shows events only up to
    // what the reader says it heard live (historyPage's `heard`).
    let whileReading: (() => void) | undefined;
    const promoted = Object.create(bus) as MemoryBus;
    promoted.historyPage = async (room, since, limit, heard = 0) => {
      const visible = Math.max(1, heard);
      const during = whileReading;
      whileReading = undefined;
      during?.();
      const page = await bus.historyPage(room, since, limit);
      if (!page.ok) return page;
      return {
        ...page,
        head: { ...page.head, seq: Math.min(page.head.seq, visible) },
        events: page.events.filter((e) => e.seq <= visible),
      };
    };
    const seen: number[] = [];
    const sequencer = new Sequencer('lobby', promoted, (e) => seen.push(e.seq), logger);
    await sequencer.init();
    for (const message of ['m1', 'm2', 'm3']) await say(bus, message);
    await idle();
    sequencer.onEvent(published[0]!);
    // The subscriber came back: catch up; event 3 arrives live while the first page is read (with nothing heard).
    whileReading = () => sequencer.onEvent(published[2]!);
    sequencer.resync();
    for (let turn = 0; turn < 100 && seen.length < 3; turn++) await idle();
    assert.deepEqual(seen, [1, 2, 3], 'event 2 read from the history, not skipped as a hole');
  });
});

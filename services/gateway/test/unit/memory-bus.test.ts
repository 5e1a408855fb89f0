import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, it, mock, type TestContext } from 'node:test';
import type { EventDraft } from '@switchboard/protocol';
import type { BusLimits } from '../../src/bus/bus.js';
import { MemoryBus } from '../../src/bus/memory-bus.js';

const run = promisify(execFile);

const ROOM_TTL_MS = 60_000;
const ROOM_HISTORY_TTL_MS = 600_000;
/** The sweep runs every quarter of ROOM_TTL_MS. */
const SWEEP_MS = ROOM_TTL_MS / 4;
const LIMITS: BusLimits = {
  historyMaxEvents: 100,
  historyMaxAgeMs: 600_000,
  historyMaxBytes: 1_000_000,
  refsPerClient: 100,
  historyOnJoin: 10,
  roomTtlMs: ROOM_TTL_MS,
  roomHistoryTtlMs: ROOM_HISTORY_TTL_MS,
};

const notice = (room: string): EventDraft => ({
  type: 'notification',
  room,
  id: 'ann',
  nickname: 'ann',
  message: 'ann has joined',
  event: 'joined',
  time: 0,
});

describe('MemoryBus: rooms nobody uses', () => {
  let bus: MemoryBus;

  beforeEach(() => {
    mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 });
    bus = new MemoryBus(LIMITS, () => Date.now());
    bus.start(() => undefined);
  });

  afterEach(async () => {
    await bus.close();
    mock.timers.reset();
  });

  /** Let `ms` go by, sweeps included. */
  const pass = (ms: number) => mock.timers.tick(ms);

  it('forgets a room nobody has used for ROOM_TTL_MS at its next sweep, and not before', async () => {
    const { epoch } = await bus.head('joined-once');
    pass(ROOM_TTL_MS - 1);
    assert.equal(bus.keeps('joined-once'), true, 'kept within its lifetime');
    pass(SWEEP_MS);
    assert.equal(bus.keeps('joined-once'), false, 'forgotten at the first sweep past its lifetime');
    const back = await bus.head('joined-once');
    assert.notEqual(back.epoch, epoch, 'it comes back in a new epoch');
    assert.equal(back.seq, 0);
  });

  it('counts a lifetime from the last publish or read', async () => {
    await bus.publish(notice('used'), 'p:1');
    pass(ROOM_TTL_MS / 2);
    await bus.recent('used', 10);
    pass(ROOM_TTL_MS / 2 + SWEEP_MS);
    assert.equal(bus.keeps('used'), true, 'the read renewed it');
    pass(ROOM_TTL_MS);
    assert.equal(bus.keeps('used'), false);
  });

  it('keeps a room while it is subscribed to, however long, and counts its lifetime from when it was left', async () => {
    await bus.subscribe('served');
    const { epoch } = await bus.publish(notice('served'), 'p:1');
    pass(10 * ROOM_HISTORY_TTL_MS);
    assert.equal(bus.keeps('served'), true);
    await bus.unsubscribe('served');
    pass(ROOM_TTL_MS - SWEEP_MS);
    assert.equal(bus.keeps('served'), true, 'its lifetime counts from when it was left');
    assert.deepEqual(await bus.head('served'), { epoch, seq: 1 });
    pass(ROOM_TTL_MS + SWEEP_MS);
    assert.equal(bus.keeps('served'), false);
  });

  it('keeps a room that had a chat line for ROOM_HISTORY_TTL_MS, its lines with it', async () => {
    await bus.publish({ type: 'message', room: 'chatty', id: 'ann', nickname: 'ann', message: 'hi', time: 0 });
    await bus.publish(notice('quiet'), 'p:1');
    pass(ROOM_TTL_MS + SWEEP_MS);
    assert.deepEqual([bus.keeps('quiet'), bus.keeps('chatty')], [false, true]);
    pass(ROOM_HISTORY_TTL_MS - ROOM_TTL_MS);
    assert.equal(bus.keeps('chatty'), false);
    assert.deepEqual((await bus.recent('chatty', 10)).lines, []);
  });

  it('keeps, across a new epoch (which keeps the history), that the room had chat lines', async () => {
    await bus.publish({ type: 'message', room: 'renewed', id: 'ann', nickname: 'ann', message: 'hi', time: 0 });
    await bus.renewEpoch('renewed', (await bus.head('renewed')).epoch);
    pass(ROOM_TTL_MS + SWEEP_MS);
    assert.equal(bus.keeps('renewed'), true);
    pass(ROOM_HISTORY_TTL_MS - ROOM_TTL_MS);
    assert.equal(bus.keeps('renewed'), false);
  });
});

describe('MemoryBus: memory', () => {
  it('keeps no more heap after 5,000 rooms were used and left than before them', async (t: TestContext) => {
    const rooms = 5_000;
    const script = fileURLToPath(new URL('./memory-bus-heap.ts', import.meta.url));
    const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', script], {
      env: { ...process.env, ROOMS: String(rooms) },
    });
    const { before, kept, after, left } = JSON.parse(stdout) as { before: number; kept: number; after: number; left: number };
    t.diagnostic(
      `heap: ${before} bytes before, ${kept} with ${rooms} rooms used (${Math.round((kept - before) / rooms)} bytes a room), ${after} once they were forgotten; rooms left: ${left}`,
    );
    assert.equal(left, 0, 'every room was forgotten');
    // Kept, a room cost about 1.8 KB (9 MB here); what is left is noise.
    assert.ok(after - before < rooms * 100, `the heap grew by ${after - before} bytes over ${rooms} rooms`);
    assert.ok(kept - before > rooms * 100, 'the rooms took memory while they were kept (else this test measures nothing)');
  });
});

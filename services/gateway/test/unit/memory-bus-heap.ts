/**
 * Run by memory-bus.test.ts in a process of its own (`node --expose-gc`): a
 * MemoryBus serves `ROOMS` rooms one after the other, each joined, talked in
 * and left, as join churn does, and the heap after a full collection is printed
 * as JSON, before and after, once the bus has had time to forget them.
 */
import type { EventDraft } from '@switchboard/protocol';
import { MemoryBus } from '../../src/bus/memory-bus.js';

const rooms = Number(process.env.ROOMS ?? 5_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const LIFETIME_MS = 1_000;
const clock = { now: 0 };
const bus = new MemoryBus(
  {
    historyMaxEvents: 10_000,
    historyMaxAgeMs: 600_000,
    historyMaxBytes: 8 * 1024 * 1024,
    refsPerClient: 1_000,
    historyOnJoin: 50,
    roomTtlMs: LIFETIME_MS,
    roomHistoryTtlMs: LIFETIME_MS,
  },
  () => clock.now,
);
bus.start(() => undefined);

const notice = (room: string, event: 'joined' | 'left'): EventDraft => ({
  type: 'notification',
  room,
  id: 'ann',
  nickname: 'ann',
  message: `ann has ${event}`,
  event,
  time: 0,
});

/** What a member that joins a room, says a line in it and leaves makes the bus do. */
async function visit(from: number, count: number): Promise<string> {
  let room = '';
  for (let i = from; i < from + count; i++) {
    room = `room-${i}`;
    await bus.subscribe(room);
    await bus.head(room);
    await bus.publish(notice(room, 'joined'), `p:reg:joined:${i}`);
    await bus.recent(room, 50);
    await bus.publish({ type: 'message', room, id: 'ann', nickname: 'ann', message: `hello ${i}`, time: 0, ref: `r${i}` });
    await bus.unsubscribe(room);
    await bus.publish(notice(room, 'left'), `p:reg:left:${i}`);
  }
  return room;
}

/** Let the lifetime pass, and wait (at most 10 s) for the bus's sweep to forget `room`. */
async function forgotten(room: string): Promise<void> {
  clock.now += LIFETIME_MS;
  for (let waited = 0; bus.keeps(room) && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
}

function heapUsed(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

await forgotten(await visit(0, rooms / 10));
const before = heapUsed();
const last = await visit(rooms, rooms);
const kept = heapUsed();
await forgotten(last);
const after = heapUsed();
let left = 0;
for (let i = 0; i < 2 * rooms; i++) if (bus.keeps(`room-${i}`)) left++;
await bus.close();
process.stdout.write(JSON.stringify({ rooms, before, kept, after, left }) + '\n');

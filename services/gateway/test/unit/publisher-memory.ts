/**
 * Run by publisher.test.ts in a process of its own (`node --expose-gc`, away
 * from the test runner's async context tracking, which slows every promise and
 * keeps its own records): one member publishes `LINES` lines, and the heap
 * after a full collection is printed as JSON, before and after.
 */
import { pino } from 'pino';
import type { Bus } from '../../src/bus/bus.js';
import { Member } from '../../src/hub/member.js';
import { OrderedPublisher } from '../../src/hub/publisher.js';
import { noMetrics } from '../../src/metrics/metrics.js';

const lines = Number(process.env.LINES ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

let seq = 0;
const bus = { publish: () => Promise.resolve({ epoch: 'e', seq: ++seq, duplicate: false }) };
const publisher = new OrderedPublisher(bus as unknown as Bus, noMetrics);
const peer = {
  conn: 'conn-1',
  protocol: 'v1' as const,
  id: 'id-1',
  nickname: 'alice',
  log: pino({ level: 'silent' }),
  send() {},
  close() {},
};
const member = new Member(peer);
const line = { type: 'message' as const, room: 'lobby', id: 'id-1', nickname: 'alice', message: 'hello', time: Date.now() };

async function publish(count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    publisher.publish(member, line);
    // As a busy connection does: a thousand lines in flight at most.
    if (i % 1_000 === 0) await publisher.drain();
  }
  await publisher.drain();
}

function heapUsed(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

await publish(lines / 10);
const before = heapUsed();
await publish(lines);
const after = heapUsed();
process.stdout.write(JSON.stringify({ lines, before, after, inFlight: member.inFlight.size }) + '\n');

/**
 * Rooms: `rooms` rooms of `clientsPerRoom` clients over the gateways (see
 * room-plan.ts), every client joined to its room with the seed command `/join`
 * before anything is counted; `sendersPerRoom` of each room send `ratePerRoom`
 * lines/s there, and a line counts as delivered only to the members of its own
 * room (one reaching another room is a stray). The same run on one Redis and on
 * a Redis Cluster shows what the shards take: Redis CPU per redis-server, and the
 * rooms each gateway is subscribed to (it hears of no others).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { CpuMeter, type CpuUse } from '../cpu-meter.js';
import { LoadGenerator } from '../generator/load-generator.js';
import { nowUs } from '../generator/line.js';
import type { Histogram } from '../generator/histogram.js';
import { planRooms, roomsPerNode } from '../room-plan.js';
import { shardSubscriptions } from '../shard-subscriptions.js';
import type { SystemUnderTest } from '../systems/system.js';
import { DRAIN_QUIET_MS, stillArriving } from './drain.js';

export interface RoomsOptions {
  readonly rooms: number;
  readonly clientsPerRoom: number;
  readonly sendersPerRoom: number;
  /** Gateways each room's clients are spread over. */
  readonly roomNodes: number;
  readonly nodes: number;
  /** Lines per second in each room, its senders together. */
  readonly ratePerRoom: number;
  readonly bytes: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Longest wait for the last deliveries after sending stops, ms. */
  readonly drainMs: number;
  readonly workers: number;
}

export interface RoomsResult {
  /** The system's id (SystemId) and name. */
  readonly id: string;
  readonly system: string;
  readonly sent: number;
  /** Each line to every member of its room, the sender's echo included. */
  readonly expected: number;
  readonly received: number;
  /** Lines that reached a client of another room. */
  readonly strays: number;
  readonly stillArriving: boolean;
  /** Deliveries per second, from the first measured send to the last delivery. */
  readonly deliveriesPerSec: number;
  /** redisEach: one entry per redis-server (per shard). */
  readonly cpu: CpuUse;
  /** The same for IDLE_MS with everyone in their rooms and nobody sending: what the system costs at rest (leases, sweeps, a cluster's gossip). */
  readonly idleCpu: CpuUse;
  readonly latency: Histogram;
  readonly refused: number;
  readonly closes: Record<string, number>;
  /** Per gateway: the rooms it has members in (by the plan)... */
  readonly roomsServed: readonly number[];
  /** ...and the rooms Redis has it subscribed to (CLIENT LIST `ssub`), read after the drain. */
  readonly roomsSubscribed: readonly number[];
  readonly serverLog: string[];
}

const WARMUP = 1;
const MEASURED = 2;
/** Clients connecting (and joining) at once. */
const CONNECT_BATCH = 100;
/** Per-client wait for the welcome and the join's answer, ms. */
const CONNECT_TIMEOUT_MS = 60_000;
/** Longest wait for the presence notices of the joins to pass before the warm-up, ms. */
const NOTICES_MS = 60_000;
/** How long the system's CPU at rest is measured, before the warm-up, ms. */
const IDLE_MS = 5_000;

export async function runRooms(system: SystemUnderTest, o: RoomsOptions): Promise<RoomsResult> {
  const plan = planRooms(o);
  const running = await system.start({ nodes: o.nodes, joinNotices: false });
  const generator = LoadGenerator.start(system.client, o.workers);
  try {
    const specs = plan.map((c) => ({ url: running.urls[c.node]!, record: true, room: c.room }));
    const joined = await generator.connect(specs, { batch: CONNECT_BATCH, timeoutMs: CONNECT_TIMEOUT_MS });
    if (joined.connected < plan.length)
      throw new Error(`${system.name}: only ${joined.connected} of ${plan.length} clients connected and joined (${joined.firstError})`);
    await generator.settle(0, () => false, 1_000, NOTICES_MS);
    const idleMeter = new CpuMeter(running.nodePids, running.redisPids, generator.pids).start();
    await delay(IDLE_MS);
    const idleCpu = idleMeter.read();
    const senders = plan.flatMap((c, i) => (c.sender ? [i] : []));
    const rate = o.ratePerRoom * o.rooms;
    await generator.send(WARMUP, rate, o.warmupMs, o.bytes, senders);

    const mark = running.logMark();
    const meter = new CpuMeter(running.nodePids, running.redisPids, generator.pids).start();
    const startUs = nowUs();
    const { sent } = await generator.send(MEASURED, rate, o.durationMs, o.bytes, senders);
    // Every room has clientsPerRoom members and its senders send in turn: each line is owed to clientsPerRoom clients.
    const expected = sent * o.clientsPerRoom;
    const stats = await generator.settle(MEASURED, (s) => s.received >= expected, DRAIN_QUIET_MS, o.drainMs);
    const cpu = meter.read();
    const subscriptions = shardSubscriptions(await Promise.all(running.redis.map((r) => r.cli('CLIENT', 'LIST'))));
    return {
      id: system.id,
      system: system.name,
      sent,
      expected,
      received: stats.received,
      strays: stats.strays,
      stillArriving: stillArriving(stats, expected),
      deliveriesPerSec: stats.received / ((stats.lastUs - startUs) / 1e6),
      cpu,
      idleCpu,
      latency: stats.latency,
      refused: stats.errors,
      closes: stats.closes,
      roomsServed: roomsPerNode(plan, o.nodes),
      roomsSubscribed: running.nodes.map((node) => subscriptions.get(node.label) ?? 0),
      serverLog: running.logSince(mark),
    };
  } finally {
    await generator.close();
    await running.stop();
  }
}

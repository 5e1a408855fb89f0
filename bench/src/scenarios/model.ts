/**
 * The capacity model's probes (`--scenario model`): short rooms runs (room-plan.ts)
 * whose shapes let each unit cost stand out (model-fit.ts does the arithmetic).
 * Each probe measures, one phase after another, with fresh gateways and Redis:
 *
 * - at rest: the gateways up, no client (what a gateway and a shard cost alone);
 * - connect: every client connecting and joining its room, until their notices passed;
 * - idle: everyone in their rooms, nobody sending (what held connections cost);
 * - traffic (unless the probe sends nothing): `ratePerRoom` in every room, then the drain;
 *
 * and each gateway's RSS and each redis-server's used_memory between them.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { CpuMeter, type CpuUse } from '../cpu-meter.js';
import { LoadGenerator } from '../generator/load-generator.js';
import type { Histogram } from '../generator/histogram.js';
import { rssBytes } from '../proc-stats.js';
import { sessionsShard, usedMemory } from '../redis-readings.js';
import { layOut, sharesPerLine } from '../probe-layout.js';
import type { RunningSystem, SystemUnderTest } from '../systems/system.js';
import { DRAIN_QUIET_MS } from './drain.js';

export interface Probe {
  /** What it is for, in the tables. */
  readonly name: string;
  readonly nodes: number;
  readonly rooms: number;
  readonly clientsPerRoom: number;
  /** Gateways each room's members are spread over. */
  readonly roomNodes: number;
  /** Instead: in every room, the members on each gateway, the sender on the first (probe-layout.ts). */
  readonly membersPerGateway?: readonly number[];
  /** Lines per second per room; 0: no traffic phase. */
  readonly ratePerRoom: number;
  /** Gateway settings of this probe. */
  readonly env: Readonly<Record<string, string>>;
}

export interface GatewayTraffic {
  readonly idle: number;
  readonly traffic: number;
  readonly published: number;
  readonly heard: number;
  readonly deliveries: number;
}

export interface ProbeOptions {
  readonly bytes: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly drainMs: number;
  readonly workers: number;
}

export interface ProbeResult {
  readonly probe: Probe;
  readonly system: string;
  readonly connections: number;
  /** Index in each CpuUse's redisEach (and in the memory readings) of the shard holding the sessions slot. */
  readonly sessionsShard: number;
  readonly atRest: CpuUse;
  readonly connect: CpuUse;
  readonly idle: CpuUse;
  /** Undefined for a probe that sends nothing. */
  readonly traffic?: CpuUse;
  /** Lines sent while measured. */
  readonly lines: number;
  /** Lines sent in all (warm-up too): what the rooms' history holds. */
  readonly historyLines: number;
  /** Each measured line once per gateway its room spans. */
  readonly linesHeard: number;
  readonly deliveries: number;
  readonly expected: number;
  readonly strays: number;
  readonly latency?: Histogram;
  /** Per gateway: its CPU-seconds idle and in traffic (over the phases' seconds), and its measured lines published, heard and deliveries. */
  readonly perGateway: readonly GatewayTraffic[];
  /** Per gateway, bytes. */
  readonly rssAtRest: readonly number[];
  readonly rssConnected: readonly number[];
  /** Per redis-server, bytes: at rest, once everyone is in, after the traffic. */
  readonly redisMemoryAtRest: readonly number[];
  readonly redisMemoryConnected: readonly number[];
  readonly redisMemoryAfter: readonly number[];
  readonly serverLog: string[];
}

const WARMUP = 1;
const MEASURED = 2;
/** Clients connecting (and joining) at once. */
const CONNECT_BATCH = 100;
/** Per-client wait for the welcome and the join's answer, ms. */
const CONNECT_TIMEOUT_MS = 60_000;
/** The connect phase ends once nothing arrived for this long (the join notices passed), ms... */
const NOTICES_QUIET_MS = 1_000;
/** ...or after this long. */
const NOTICES_MS = 60_000;
/** From the gateways' start to the at-rest phase, ms. */
const SETTLE_MS = 3_000;
/** How long the at-rest and the idle phases are measured, ms. */
const REST_MS = 5_000;

export async function runProbe(system: SystemUnderTest, probe: Probe, o: ProbeOptions): Promise<ProbeResult> {
  const plan = layOut(probe);
  const running = await system.start({ nodes: probe.nodes, joinNotices: false, env: probe.env });
  const generator = LoadGenerator.start(system.client, o.workers);
  try {
    const meter = () => new CpuMeter(running.nodePids, running.redisPids, generator.pids).start();
    /** One meter per gateway: its own CPU. */
    const meterEach = () => running.nodePids.map((pid) => new CpuMeter([pid], [], []).start());
    const shard = await sessionsShard(running.redis);
    // Just started, a gateway still compiles and reads the topology: what it does at rest is measured after.
    await delay(SETTLE_MS);
    const atRestMeter = meter();
    await delay(REST_MS);
    const atRest = atRestMeter.read();
    const rssAtRest = rss(running);
    const redisMemoryAtRest = await usedMemory(running.redis);

    const connectMeter = meter();
    const specs = plan.map((c) => ({ url: running.urls[c.node]!, record: true, room: c.room }));
    const joined = await generator.connect(specs, { batch: CONNECT_BATCH, timeoutMs: CONNECT_TIMEOUT_MS });
    if (joined.connected < plan.length)
      throw new Error(`${system.name}: only ${joined.connected} of ${plan.length} clients connected and joined (${joined.firstError})`);
    await generator.settle(0, () => false, NOTICES_QUIET_MS, NOTICES_MS);
    const connect = connectMeter.read();
    const rssConnected = rss(running);
    const redisMemoryConnected = await usedMemory(running.redis);

    const idleMeter = meter();
    const idleEach = meterEach();
    await delay(REST_MS);
    const idle = idleMeter.read();
    const idleCpu = idleEach.map((m) => m.read().nodes);
    const base = {
      probe,
      system: system.name,
      connections: plan.length,
      sessionsShard: shard,
      atRest,
      connect,
      idle,
      rssAtRest,
      rssConnected,
      redisMemoryAtRest,
      redisMemoryConnected,
    };
    if (probe.ratePerRoom === 0)
      return {
        ...base,
        lines: 0,
        historyLines: 0,
        linesHeard: 0,
        deliveries: 0,
        expected: 0,
        strays: 0,
        perGateway: idleCpu.map((cpu) => ({ idle: cpu, traffic: 0, published: 0, heard: 0, deliveries: 0 })),
        redisMemoryAfter: redisMemoryConnected,
        serverLog: [],
      };

    const senders = plan.flatMap((c, i) => (c.sender ? [i] : []));
    const rate = probe.ratePerRoom * probe.rooms;
    const warm = await generator.send(WARMUP, rate, o.warmupMs, o.bytes, senders);
    const mark = running.logMark();
    const trafficMeter = meter();
    const trafficEach = meterEach();
    const { sent } = await generator.send(MEASURED, rate, o.durationMs, o.bytes, senders);
    const expected = sent * probe.clientsPerRoom;
    const stats = await generator.settle(MEASURED, (s) => s.received >= expected, DRAIN_QUIET_MS, o.drainMs);
    const traffic = trafficMeter.read();
    const trafficCpu = trafficEach.map((m) => m.read().nodes);
    // What each gateway did, by its share of a line; deliveries as many as arrived (all, unless some were lost).
    const shares = sharesPerLine(plan, probe.nodes, probe.rooms);
    const perGateway = shares.map((share, g) => ({
      idle: idleCpu[g]!,
      traffic: trafficCpu[g]!,
      published: sent * share.published,
      heard: sent * share.heard,
      deliveries: sent * share.deliveries * (stats.received / expected),
    }));
    return {
      ...base,
      traffic,
      lines: sent,
      historyLines: warm.sent + sent,
      linesHeard: perGateway.reduce((all, g) => all + g.heard, 0),
      perGateway,
      deliveries: stats.received,
      expected,
      strays: stats.strays,
      latency: stats.latency,
      redisMemoryAfter: await usedMemory(running.redis),
      serverLog: running.logSince(mark),
    };
  } finally {
    await generator.close();
    await running.stop();
  }
}

function rss(running: RunningSystem): number[] {
  return running.nodePids.map(rssBytes);
}

/** PING_INTERVAL_MS of the memory probe: short, so that held connections cost measurably (the fit scales it to the default). */
export const PROBE_PING_INTERVAL_MS = 1_000;
/**
 * A shard not heard for this long makes a gateway refuse new clients (503): on a
 * shared machine a join storm alone can delay a line past the default 3 s. The
 * check and the probes wait longer; it changes no cost, ms.
 */
const SHARD_PROBE_TIMEOUT_MS = '30000';
/** Rooms beyond the default MAX_ROOMS (1,000), for the probes of many small rooms. */
const PROBE_ENV = { MAX_ROOMS: '10000', SHARD_PROBE_TIMEOUT_MS };

/** 3,000 clients in rooms of 20 on one gateway, pinged every second, sending nothing: memory per connection and what held ones cost. */
export const MEMORY_PROBE: Probe = {
  name: 'memory: 150 rooms x 20 on 1 gateway, pinged every 1 s, no lines',
  nodes: 1,
  rooms: 150,
  clientsPerRoom: 20,
  roomNodes: 1,
  ratePerRoom: 0,
  env: { ...PROBE_ENV, PING_INTERVAL_MS: String(PROBE_PING_INTERVAL_MS) },
};

/**
 * 960 lines/s each on 3 gateways. Every client gets at most 20 lines/s, so each
 * delivery is its own write in all of them. The gateways' costs come from each
 * gateway's own CPU: in the roles probe one gateway publishes, hears and delivers
 * once per line, one hears and delivers once, one hears and delivers 19 times,
 * all in the same seconds; the other two add rooms of 1 and rooms of 20 on one
 * gateway. Redis sees each line go to 1 gateway (rooms of 1, of 20) or to 3 (roles).
 */
export const TRAFFIC_PROBES: readonly Probe[] = [
  { name: 'lines: 960 rooms x 1, 1 line/s each', nodes: 3, rooms: 960, clientsPerRoom: 1, roomNodes: 1, ratePerRoom: 1, env: PROBE_ENV },
  {
    name: 'deliveries: 48 rooms x 20, 20 lines/s each',
    nodes: 3,
    rooms: 48,
    clientsPerRoom: 20,
    roomNodes: 1,
    ratePerRoom: 20,
    env: PROBE_ENV,
  },
  {
    name: 'roles: 48 rooms x 21 (sender on gateway 1, 1 member on 2, 19 on 3), 20 lines/s each',
    nodes: 3,
    rooms: 48,
    clientsPerRoom: 21,
    roomNodes: 1,
    membersPerGateway: [1, 1, 19],
    ratePerRoom: 20,
    env: PROBE_ENV,
  },
];

/**
 * Runs the costs are not fitted to, with the gateway's default settings (but
 * SHARD_PROBE_TIMEOUT_MS), each room over the 3 gateways as a balancer spreads
 * it: issue 24's rooms run (1,000 clients in 50 rooms of 20, 1,000 lines/s: the
 * gateways about as busy as in the probes), and issue 24's rooms shape scaled
 * down (rooms of 40 at 10 lines/s: a quarter of the lines).
 */
export const CHECK_PROBES: readonly Probe[] = [
  {
    name: 'check: 50 rooms x 20 over 3 gateways, 20 lines/s each',
    nodes: 3,
    rooms: 50,
    clientsPerRoom: 20,
    roomNodes: 3,
    ratePerRoom: 20,
    env: { SHARD_PROBE_TIMEOUT_MS },
  },
  {
    name: 'check: 25 rooms x 40 over 3 gateways, 10 lines/s each',
    nodes: 3,
    rooms: 25,
    clientsPerRoom: 40,
    roomNodes: 3,
    ratePerRoom: 10,
    env: { SHARD_PROBE_TIMEOUT_MS },
  },
];

/**
 * Reconnect storm: `stormClients` clients on node 1 of 3, `stable` clients on
 * nodes 2 and 3, `senders` of which send at `rate` lines/s throughout. Node 1 is
 * SIGKILLed; its clients reconnect at once, each to a random surviving node. The
 * stable clients' latency is compared before the kill and during the storm (the
 * `stormMs` after it), and the time until every storm client is back is taken.
 */
import type { Window } from '../cpu-profile.js';
import { CpuMeter, type CpuUse } from '../cpu-meter.js';
import { LoadGenerator, type Stats } from '../generator/load-generator.js';
import { nowUs } from '../generator/line.js';
import type { SystemUnderTest } from '../systems/system.js';
import { DRAIN_QUIET_MS, stillArriving } from './drain.js';

export interface ReconnectOptions {
  readonly stormClients: number;
  readonly stable: number;
  readonly senders: number;
  readonly rate: number;
  readonly bytes: number;
  readonly warmupMs: number;
  /** Measured before the kill, ms. */
  readonly beforeMs: number;
  /** Measured from the kill on, ms. */
  readonly stormMs: number;
  readonly drainMs: number;
  readonly workers: number;
  /** Write a V8 CPU profile of each node into this folder (the killed one writes none). */
  readonly cpuProfileDir?: string;
}

export interface ReconnectResult {
  readonly system: string;
  readonly before: Stats;
  readonly beforeExpected: number;
  readonly storm: Stats;
  readonly stormExpected: number;
  /** Storm lines were still arriving when the drain ended: the lost ones are late, perhaps not gone. */
  readonly stillArriving: boolean;
  /** From the kill to the last storm client's welcome, ms; undefined if some were not back within the drain and a minute more. */
  readonly reconnectMs: number | undefined;
  readonly reconnected: number;
  /** Reconnect attempts that failed and were tried again, and the first reason. */
  readonly reconnectFailures: number;
  readonly reconnectError?: string;
  /** Server CPU from the kill to the end of the drain (surviving nodes and Redis). */
  readonly cpu: CpuUse;
  /** From the kill to the end of the drain, monotonic µs (to cut CPU profiles to). */
  readonly window: Window;
  /** What the nodes logged (warnings, errors) from the kill on. */
  readonly serverLog: string[];
}

const WARMUP = 1;
const BEFORE = 2;
const STORM = 3;
/** After the drain, how much longer to wait for the last storm clients to be back, ms. */
const RECONNECT_WAIT_MS = 60_000;
const NODES = 3;

export async function runReconnect(system: SystemUnderTest, o: ReconnectOptions): Promise<ReconnectResult> {
  const running = await system.start({ nodes: NODES, joinNotices: false, ...(o.cpuProfileDir && { cpuProfileDir: o.cpuProfileDir }) });
  const generator = LoadGenerator.start(system.client, o.workers);
  try {
    const survivors = running.urls.slice(1);
    // Stable clients first (global indexes 0..stable-1, senders among them), alternating over nodes 2 and 3.
    const stable = Array.from({ length: o.stable }, (_, i) => ({ url: survivors[i % survivors.length]!, record: true }));
    const storm = Array.from({ length: o.stormClients }, () => ({ url: running.urls[0]!, record: false, reconnectTo: survivors }));
    for (const [specs, what] of [
      [stable, 'stable'],
      [storm, 'storm'],
    ] as const) {
      const joined = await generator.connect(specs, { batch: 100 });
      if (joined.connected < specs.length)
        throw new Error(`${system.name}: only ${joined.connected} of ${specs.length} ${what} clients connected`);
    }
    await generator.settle(0, () => false, 1_000, 120_000);
    const senders = Array.from({ length: o.senders }, (_, i) => i);
    await generator.send(WARMUP, o.rate, o.warmupMs, o.bytes, senders);

    const before = await generator.send(BEFORE, o.rate, o.beforeMs, o.bytes, senders);
    const sending = generator.send(STORM, o.rate, o.stormMs, o.bytes, senders);
    const meter = new CpuMeter(running.nodePids.slice(1), running.redisPids, generator.pids).start();
    const mark = running.logMark();
    const killedUs = nowUs();
    await running.kill(0);
    const { sent } = await sending;
    const stormExpected = sent * o.stable;
    const stormStats = await generator.settle(STORM, (s) => s.received >= stormExpected && s.reconnecting === 0, DRAIN_QUIET_MS, o.drainMs);
    const cpu = meter.read();
    const window = { startUs: killedUs, endUs: nowUs() };
    const late = stillArriving(stormStats, stormExpected);
    const back = await generator.settle(STORM, (s) => s.reconnecting === 0, Infinity, RECONNECT_WAIT_MS);
    const beforeStats = await generator.stats(BEFORE);
    return {
      system: system.name,
      before: beforeStats,
      beforeExpected: before.sent * o.stable,
      storm: stormStats,
      stormExpected,
      stillArriving: late,
      reconnectMs: back.reconnecting === 0 && back.reconnected > 0 ? (back.lastReconnectUs - killedUs) / 1000 : undefined,
      reconnected: back.reconnected,
      reconnectFailures: back.reconnectFailures,
      ...(back.reconnectError && { reconnectError: back.reconnectError }),
      cpu,
      window,
      serverLog: running.logSince(mark),
    };
  } finally {
    await generator.close();
    await running.stop(o.cpuProfileDir ? 'SIGINT' : 'SIGKILL');
  }
}

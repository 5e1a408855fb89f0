/**
 * Fan-out: `clients` clients spread evenly over the nodes, `senders` of them
 * sending `bytes`-byte lines at `rate` lines/s in total; every client receives
 * every line (the sender's echo included). After a warm-up, `durationMs` of
 * measured sending, then a drain until every delivery arrived (or nothing came
 * for a while, or the drain's time is up): what did not arrive by then is lost.
 */
import { CpuMeter, type CpuUse } from '../cpu-meter.js';
import { LoadGenerator } from '../generator/load-generator.js';
import { nowUs } from '../generator/line.js';
import type { Histogram } from '../generator/histogram.js';
import type { SystemUnderTest } from '../systems/system.js';
import type { Window } from '../cpu-profile.js';
import { DRAIN_QUIET_MS, stillArriving } from './drain.js';

export interface FanoutOptions {
  readonly clients: number;
  readonly nodes: number;
  readonly senders: number;
  readonly bytes: number;
  /** Lines per second, all senders together. */
  readonly rate: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Longest wait for the last deliveries after sending stops, ms. */
  readonly drainMs: number;
  readonly workers: number;
  readonly cpuProfileDir?: string;
}

export interface FanoutResult {
  /** The system's id (SystemId) and name. */
  readonly id: string;
  readonly system: string;
  readonly sent: number;
  readonly expected: number;
  readonly received: number;
  /** Deliveries were still arriving when the drain ended: the lost ones are late, perhaps not gone. */
  readonly stillArriving: boolean;
  /** Deliveries per second, from the first measured send to the last delivery. */
  readonly deliveriesPerSec: number;
  readonly cpu: CpuUse;
  readonly latency: Histogram;
  /** Lines the servers refused (error frames) and connections they closed, by code. */
  readonly refused: number;
  readonly closes: Record<string, number>;
  /** From the first measured send to the end of the drain, monotonic µs (to cut CPU profiles to). */
  readonly window: Window;
  /** What the nodes logged (warnings, errors) while measured. */
  readonly serverLog: string[];
}

const WARMUP = 1;
const MEASURED = 2;
/** Clients connecting at once. */
const CONNECT_BATCH = 100;

export async function runFanout(system: SystemUnderTest, o: FanoutOptions): Promise<FanoutResult> {
  // The senders are clients 0..S-1: there must be that many (else the generator fails deep inside, unnamed).
  if (o.senders > o.clients) throw new Error(`${o.senders} senders but ${o.clients} clients: --senders must be at most --clients`);
  const running = await system.start({ nodes: o.nodes, joinNotices: false, ...(o.cpuProfileDir && { cpuProfileDir: o.cpuProfileDir }) });
  const generator = LoadGenerator.start(system.client, o.workers);
  try {
    // Over the system's nodes: o.nodes of them, or its one server (nchan).
    const specs = Array.from({ length: o.clients }, (_, i) => ({ url: running.urls[i % running.urls.length]!, record: true }));
    const joined = await generator.connect(specs, { batch: CONNECT_BATCH });
    if (joined.connected < o.clients)
      throw new Error(`${system.name}: only ${joined.connected} of ${o.clients} clients connected (${joined.firstError})`);
    await generator.settle(0, () => false, 1_000, 60_000); // Switchboard's join notices
    // Senders are clients 0..S-1: round-robin over the nodes, like every client.
    const senders = Array.from({ length: o.senders }, (_, i) => i);
    await generator.send(WARMUP, o.rate, o.warmupMs, o.bytes, senders);

    const mark = running.logMark();
    const meter = new CpuMeter(running.nodePids, running.redisPids, generator.pids).start();
    const startUs = nowUs();
    const { sent } = await generator.send(MEASURED, o.rate, o.durationMs, o.bytes, senders);
    const expected = sent * o.clients;
    const stats = await generator.settle(MEASURED, (s) => s.received >= expected, DRAIN_QUIET_MS, o.drainMs);
    const cpu = meter.read();
    return {
      id: system.id,
      system: system.name,
      sent,
      expected,
      received: stats.received,
      stillArriving: stillArriving(stats, expected),
      deliveriesPerSec: stats.received / ((stats.lastUs - startUs) / 1e6),
      cpu,
      latency: stats.latency,
      refused: stats.errors,
      closes: stats.closes,
      window: { startUs, endUs: nowUs() },
      serverLog: running.logSince(mark),
    };
  } finally {
    await generator.close();
    await running.stop(o.cpuProfileDir ? 'SIGINT' : 'SIGKILL');
  }
}

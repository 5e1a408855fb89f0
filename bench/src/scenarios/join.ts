/**
 * Join storm: `clients` clients join ONE node (of a one-node cluster over
 * Redis), `batch` at a time, each waiting for its welcome (socket.io: connect).
 * Switchboard announces every join to everyone present, so the N-th join costs
 * N frames: the storm is measured until those notices have been delivered too.
 * Then the node's RSS, minus its RSS before, per connection.
 */
import type { Window } from '../cpu-profile.js';
import { CpuMeter, type CpuUse } from '../cpu-meter.js';
import { nowUs } from '../generator/line.js';
import { LoadGenerator } from '../generator/load-generator.js';
import { rssBytes } from '../proc-stats.js';
import type { SystemUnderTest } from '../systems/system.js';

export interface JoinOptions {
  readonly clients: number;
  readonly batch: number;
  /** Start no new batch after this long, ms: a quadratic storm is reported unfinished. */
  readonly timeoutMs: number;
  /** The comparison servers announce joins as Switchboard does. */
  readonly joinNotices: boolean;
  readonly workers: number;
  /** Write a V8 CPU profile of the node into this folder. */
  readonly cpuProfileDir?: string;
}

export interface JoinResult {
  readonly system: string;
  readonly clients: number;
  readonly joined: number;
  readonly failed: number;
  /** Never tried: the timeout passed first. */
  readonly skipped: number;
  /** From the first connect to the last welcome, ms. */
  readonly joinMs: number;
  /** Notices (and any other frames) the clients received, until quiet. */
  readonly notices: number;
  /** From the first connect to the last welcome. */
  readonly cpuToJoined: CpuUse;
  /** The same, until the notices stopped. */
  readonly cpuToQuiet: CpuUse;
  readonly rssBefore: number;
  readonly rssAfter: number;
  /** From the first connect until the notices stopped, monotonic µs (to cut CPU profiles to). */
  readonly window: Window;
  /** What the node logged (warnings, errors) during the storm. */
  readonly serverLog: string[];
}

/** The storm is over when nothing arrived for this long, ms. */
const QUIET_MS = 2_000;
/** Longest wait for the notices after the last join, ms. */
const NOTICE_DRAIN_MS = 120_000;

export async function runJoin(system: SystemUnderTest, o: JoinOptions): Promise<JoinResult> {
  const running = await system.start({ nodes: 1, joinNotices: o.joinNotices, ...(o.cpuProfileDir && { cpuProfileDir: o.cpuProfileDir }) });
  const generator = LoadGenerator.start(system.client, o.workers);
  try {
    const node = running.nodePids[0]!;
    const rssBefore = rssBytes(node);
    const mark = running.logMark();
    const meter = new CpuMeter([node], running.redisPids, generator.pids).start();
    const startUs = nowUs();
    const specs = Array.from({ length: o.clients }, () => ({ url: running.urls[0]!, record: false }));
    const joined = await generator.connect(specs, { batch: o.batch, deadlineMs: o.timeoutMs, timeoutMs: 60_000 });
    const cpuToJoined = meter.read();
    const stats = await generator.settle(0, () => false, QUIET_MS, NOTICE_DRAIN_MS);
    const cpuToQuiet = meter.read();
    return {
      system: system.name,
      clients: o.clients,
      joined: joined.connected,
      failed: joined.failed,
      skipped: joined.skipped,
      joinMs: joined.elapsedMs,
      notices: stats.notices,
      cpuToJoined,
      cpuToQuiet,
      rssBefore,
      rssAfter: rssBytes(node),
      window: { startUs, endUs: nowUs() },
      serverLog: running.logSince(mark),
    };
  } finally {
    await generator.close();
    await running.stop(o.cpuProfileDir ? 'SIGINT' : 'SIGKILL');
  }
}

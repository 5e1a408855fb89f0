import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { NodeId, NodeStats } from '@switchboard/protocol';
import type { BusHealth } from '../bus/bus.js';
import type { MetricsTally } from '../metrics/prom-metrics.js';

/** How finely the event loop's delay is measured, in ms (the monitor's own tick, taken off what it reports). */
const LOOP_RESOLUTION_MS = 10;

export interface NodeStatsOptions {
  readonly node: NodeId;
  readonly bus: NodeStats['bus'];
  /** Where the running totals come from (PromMetrics). */
  readonly tally: () => MetricsTally;
  /** Whether the node takes new clients, and if not, why. */
  readonly readiness: () => BusHealth;
  readonly now?: () => number;
}

interface Totals {
  readonly at: number;
  readonly lines: number;
  readonly deliveries: number;
  readonly deliveredBytes: number;
  readonly refusals: number;
}

/**
 * This node's stats record (NodeStats), one per sample(): current values, and
 * rates over the time since the previous sample.
 */
export class NodeStatsSampler {
  private readonly loop: IntervalHistogram;
  private readonly startedAt: number;
  private previous: Totals;

  constructor(private readonly options: NodeStatsOptions) {
    this.startedAt = this.now();
    this.previous = this.totals();
    this.loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.loop.enable();
  }

  sample(): NodeStats {
    const tally = this.options.tally();
    const now = this.totals(tally);
    const seconds = Math.max(0.001, (now.at - this.previous.at) / 1000);
    const previous = this.previous;
    const rate = (key: Exclude<keyof Totals, 'at'>) => round((now[key] - previous[key]) / seconds);
    this.previous = now;
    const latency = tally.latency.take(0.99);
    const lagNs = this.loop.count > 0 ? this.loop.percentile(99) : 0;
    this.loop.reset();
    const health = this.options.readiness();
    const { v1, v2 } = tally.connections;
    return {
      node: this.options.node,
      at: now.at,
      startedAt: this.startedAt,
      bus: this.options.bus,
      ready: health.ready,
      ...(health.ready ? {} : { reason: health.reason ?? 'not ready' }),
      connections: v1 + v2,
      connectionsV2: v2,
      linesPerSec: rate('lines'),
      deliveriesPerSec: rate('deliveries'),
      bytesPerSec: rate('deliveredBytes'),
      refusalsPerSec: rate('refusals'),
      latencyP99Ms: latency === null ? null : round(latency * 1000),
      eventLoopLagMs: round(Math.max(0, lagNs / 1e6 - LOOP_RESOLUTION_MS)),
      rssBytes: process.memoryUsage.rss(),
    };
  }

  stop(): void {
    this.loop.disable();
  }

  private totals(tally = this.options.tally()): Totals {
    const { lines, deliveries, deliveredBytes, refusals } = tally;
    return { at: this.now(), lines, deliveries, deliveredBytes, refusals };
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

/** Two decimals are plenty on a dashboard, and keep the records small. */
function round(value: number): number {
  return Math.round(value * 100) / 100;
}

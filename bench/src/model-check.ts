/**
 * The model against a run it was not fitted to: the check probe's CPU and memory,
 * predicted from the unit costs and the probe's own counts (its connections,
 * joins, lines, the gateways each room spans, deliveries), beside what was measured.
 */
import { cpuSeconds, type MeasuredCosts, type Traffic } from '@switchboard/cli/capacity-model';
import type { ProbeFigures } from './model-fit.js';

export interface CheckRow {
  readonly what: string;
  readonly unit: string;
  readonly predicted: number;
  readonly measured: number;
}

/** Predicted vs measured for each phase of `p` (a probe with traffic). */
export function checkRows(costs: MeasuredCosts, p: ProbeFigures): CheckRow[] {
  if (p.traffic === undefined) throw new Error('the check needs a probe with traffic');
  const base = { gateways: p.rssAtRest.length, shards: p.redisMemoryAtRest.length, joins: 0, lines: 0, linesHeard: 0, deliveries: 0 };
  // A join's cost, as fitted, holds what the connections cost while they arrive: none is held besides.
  const connect: Traffic = { ...base, seconds: p.connect.seconds, connections: 0, joins: p.connections };
  const idle: Traffic = { ...base, seconds: p.idle.seconds, connections: p.connections };
  const traffic: Traffic = {
    ...base,
    seconds: p.traffic.seconds,
    connections: p.connections,
    lines: p.lines,
    linesHeard: p.linesHeard,
    deliveries: p.deliveries,
  };
  const rows: CheckRow[] = [];
  for (const [phase, t, cpu] of [
    ['joins (connect phase)', connect, p.connect],
    ['at rest with everyone in (idle phase)', idle, p.idle],
    ['traffic (measured sending and drain)', traffic, p.traffic],
  ] as const) {
    const predicted = cpuSeconds(costs, t);
    rows.push({ what: `${phase}: gateways`, unit: 'CPU-s', predicted: predicted.gateways, measured: cpu.nodes });
    rows.push({ what: `${phase}: Redis shards`, unit: 'CPU-s', predicted: predicted.shards, measured: sum(cpu.redisEach) });
  }
  const g = costs.gateway;
  const perGateway = p.connections / p.rssConnected.length;
  rows.push({
    what: 'gateway RSS with everyone in (mean)',
    unit: 'MiB',
    predicted: (g.memoryAtRestBytes + perGateway * g.memoryPerConnectionBytes) / 2 ** 20,
    measured: sum(p.rssConnected) / p.rssConnected.length / 2 ** 20,
  });
  rows.push({
    what: 'Redis memory the lines added (history)',
    unit: 'MiB',
    predicted: (p.historyLines * costs.redisShard.memoryPerHistoryLineBytes) / 2 ** 20,
    measured: (sum(p.redisMemoryAfter) - sum(p.redisMemoryConnected)) / 2 ** 20,
  });
  return rows;
}

/** (predicted - measured) / measured. */
export function errorOf(row: CheckRow): number {
  return (row.predicted - row.measured) / row.measured;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

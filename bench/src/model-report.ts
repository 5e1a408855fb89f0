/** What `--scenario model` prints: the probes, the unit costs fitted from them, and the check against a run they were not fitted to. */
import type { MeasuredCosts } from '@switchboard/cli/capacity-model';
import { errorOf, type CheckRow } from './model-check.js';
import type { Residual } from './model-fit.js';
import type { ProbeResult } from './scenarios/model.js';
import { num, table } from './table.js';

const MiB = 2 ** 20;
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const redis = (cpu: { readonly redisEach: readonly number[] }) => sum(cpu.redisEach);

/** One row per probe: its shape, its counts, and the CPU-seconds of each phase (gateways / Redis shards). */
export function probesTable(results: readonly ProbeResult[]): string {
  const rows = results.map((r) => {
    const p = r.probe;
    const t = r.traffic;
    return [
      p.name,
      `${num(p.rooms)} x ${num(p.clientsPerRoom)} on ${p.nodes} (${p.roomNodes === 1 ? 'each room on 1' : `each room on ${p.roomNodes}`})`,
      p.ratePerRoom === 0 ? '-' : num(p.ratePerRoom * p.rooms),
      t ? `${num(r.deliveries)} (${num(r.expected - r.deliveries)} lost, ${num(r.strays)} strays)` : '-',
      `${num(r.atRest.nodes, 2)} / ${num(redis(r.atRest), 2)} in ${num(r.atRest.seconds, 1)} s`,
      `${num(r.connect.nodes, 2)} / ${num(redis(r.connect), 2)} in ${num(r.connect.seconds, 1)} s`,
      `${num(r.idle.nodes, 2)} / ${num(redis(r.idle), 2)} in ${num(r.idle.seconds, 1)} s`,
      t ? `${num(t.nodes, 2)} / ${num(redis(t), 2)} in ${num(t.seconds, 1)} s` : '-',
      `${num(sum(r.rssAtRest) / MiB, 1)} -> ${num(sum(r.rssConnected) / MiB, 1)}`,
      num(Math.max(...[r.atRest, r.connect, r.idle, ...(t ? [t] : [])].map((cpu) => cpu.others / cpu.seconds)), 2),
    ];
  });
  return table(
    [
      'probe',
      'rooms x clients on gateways',
      'lines/s',
      'deliveries',
      'CPU-s at rest (gw / redis)',
      'connect',
      'idle',
      'traffic',
      'gateways RSS MiB',
      'others used, cores (busiest phase)',
    ],
    rows,
  );
}

/** Each cost the table shows: where, what, its key in the costs, its unit, and how it is shown (times `factor`, `digits` decimals). */
const COST_ROWS = [
  ['gateway', 'at rest, no client', 'gateway.cpuAtRestCores', '% of a core', 100, 2],
  ['gateway', 'memory at rest', 'gateway.memoryAtRestBytes', 'MiB', 1 / MiB, 1],
  ['gateway', 'per connection held', 'gateway.cpuPerConnectionAtRestUsPerS', 'µs/s', 1, 3],
  ['gateway', 'memory per connection', 'gateway.memoryPerConnectionBytes', 'KiB', 1 / 1024, 1],
  ['gateway', 'per join (connect and join a room)', 'gateway.cpuPerJoinUs', 'µs', 1, 0],
  ['gateway', 'per line a client of its own published', 'gateway.cpuPerLinePublishedUs', 'µs', 1, 0],
  ['gateway', 'per line of a room it serves (heard)', 'gateway.cpuPerLineHeardUs', 'µs', 1, 1],
  ['gateway', 'per delivery', 'gateway.cpuPerDeliveryUs', 'µs', 1, 2],
  ['Redis shard', 'at rest', 'redisShard.cpuAtRestCores', '% of a core', 100, 2],
  ['Redis shard', 'per line of a room on it (script, history, publish)', 'redisShard.cpuPerLineUs', 'µs', 1, 1],
  ['Redis shard', 'per line, per gateway subscribed to the room', 'redisShard.cpuPerLineSubscriberUs', 'µs', 1, 1],
  ['Redis shard', 'per join, the sessions slot', 'redisShard.cpuPerJoinSessionsUs', 'µs', 1, 0],
  ['Redis shard', "per join, the rooms' shards together", 'redisShard.cpuPerJoinRoomsUs', 'µs', 1, 0],
  ['Redis shard', 'per connection held (sessions slot)', 'redisShard.cpuPerConnectionAtRestUsPerS', 'µs/s', 1, 3],
  ['Redis shard', 'memory per session (sessions slot)', 'redisShard.memoryPerSessionBytes', 'bytes', 1, 0],
  ['Redis shard', 'memory per line kept in history', 'redisShard.memoryPerHistoryLineBytes', 'bytes', 1, 0],
] as const;

/** The unit costs, one per row, with their units; with `ranges` (several rounds), each one's lowest and highest beside. */
export function costsTable(c: MeasuredCosts, ranges?: Readonly<Record<string, readonly [number, number]>>): string {
  const value = (key: string) => {
    const [group, field] = key.split('.') as ['gateway' | 'redisShard', string];
    return (c[group] as unknown as Record<string, number>)[field]!;
  };
  const rows = COST_ROWS.map(([where, what, key, unit, factor, digits]) => {
    const shown = (v: number) => num(v * factor, digits);
    const range = ranges?.[key];
    return [where, what, `${shown(value(key))} ${unit}`, ...(ranges ? [range ? `${shown(range[0])} - ${shown(range[1])}` : '-'] : [])];
  });
  return table(['where', 'cost', ranges ? 'measured (median)' : 'measured', ...(ranges ? ['range over the rounds'] : [])], rows);
}

/** Predicted (or fitted) beside measured, and the error. */
export function checkTable(rows: readonly CheckRow[], predicted = 'predicted'): string {
  return table(
    ['', predicted, 'measured', 'error'],
    rows.map((r) => [
      `${r.what}, ${r.unit}`,
      num(r.predicted, 2),
      num(r.measured, 2),
      `${errorOf(r) >= 0 ? '+' : ''}${num(errorOf(r) * 100, 0)} %`,
    ]),
  );
}

/** How the fitted costs reproduce what each probe's gateways and shards did (the fit's own equations). */
export function residualsTable(residuals: readonly Residual[]): string {
  return checkTable(
    residuals.map((r) => ({ what: r.what, unit: 'CPU-s beyond idle', predicted: r.fitted, measured: r.measured })),
    'fitted',
  );
}

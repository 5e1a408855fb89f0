/** What each scenario's table shows: one row per system, from the scenarios' results. */
import type { FanoutOptions, FanoutResult } from './scenarios/fanout.js';
import type { JoinOptions, JoinResult } from './scenarios/join.js';
import type { ReconnectOptions, ReconnectResult } from './scenarios/reconnect.js';
import type { RoomsOptions, RoomsResult } from './scenarios/rooms.js';
import type { Histogram } from './generator/histogram.js';
import { num, table } from './table.js';
import type { CpuUse } from './cpu-meter.js';
import { summarizeRounds, type RoundFigures, type Spread } from './rounds.js';
import {
  compareWithReferences,
  goalText,
  summarizeComparisons,
  type Comparison,
  type CostFigures,
  type NotMeasured,
  type ReferenceGoal,
} from './reference-goals.js';

/** A system whose run failed, or that was not run (`notRun`: not installed, or not for this scenario): its row says why. */
export interface Failed {
  readonly id?: string;
  readonly system: string;
  readonly error: string;
  readonly notRun?: boolean;
}

type Row<T> = T | Failed;

const isFailed = <T extends object>(row: Row<T>): row is Failed => 'error' in row;
/** A failed row's only cell after the system's name. */
const failedCell = (r: Failed) => (r.notRun ? `NOT RUN: ${r.error}` : `failed: ${r.error}`);
const ms = (h: Histogram, p: number) => num(h.percentile(p) / 1000, 1);
const MiB = 2 ** 20;
/** CPU-seconds per million of a result's deliveries. */
const perMillion = (r: { readonly received: number }, cpu: number) => (cpu / r.received) * 1e6;
/** `12 (0.1 %)` of `expected` deliveries not received; `still arriving` when the drain ended on deliveries, not silence. */
const lostCell = (expected: number, received: number, late: boolean) =>
  `${num(expected - received)} (${num(((expected - received) / expected) * 100, 1)} %${late ? ', still arriving' : ''})`;
/** The system every CPU ratio is taken against. */
const isReference = (system: string) => system.startsWith('Socket.IO');

export function fanoutTable(o: FanoutOptions, rows: ReadonlyArray<Row<FanoutResult>>): string {
  const title =
    `Fan-out: ${o.clients} clients on ${o.nodes} nodes, ${o.senders} senders, ${o.bytes}-byte lines, ${o.rate} lines/s ` +
    `(${num(o.rate * o.clients)} deliveries/s offered) for ${o.durationMs / 1000} s after ${o.warmupMs / 1000} s of warm-up`;
  const reference = rows.find((r): r is FanoutResult => !isFailed(r) && isReference(r.system));
  const body = rows.map((r) => {
    if (isFailed(r)) return [r.system, failedCell(r)];
    const ratio = reference ? perMillion(r, r.cpu.server) / perMillion(reference, reference.cpu.server) : NaN;
    return [
      r.system,
      num(r.deliveriesPerSec),
      num(perMillion(r, r.cpu.server), 1),
      num(perMillion(r, r.cpu.nodes), 1),
      num(perMillion(r, r.cpu.redis), 1),
      num(ratio, 2),
      lostCell(r.expected, r.received, r.stillArriving),
      ms(r.latency, 50),
      ms(r.latency, 99),
      num(r.latency.maxUs / 1000, 1),
      `${num(r.refused)} / ${closes(r.closes)}`,
      num(r.cpu.generator, 1),
      num(r.cpu.others, 1),
    ];
  });
  return `${title}\n\n${table(
    [
      'system',
      'deliveries/s',
      'CPU-s per M deliveries',
      'nodes',
      'redis',
      'CPU vs Socket.IO',
      'lost',
      'p50 ms',
      'p99 ms',
      'max ms',
      'refused / closed',
      'generator CPU-s',
      'others CPU-s',
    ],
    body,
  )}${notes(rows)}`;
}

export function joinTable(o: JoinOptions, rows: ReadonlyArray<Row<JoinResult>>): string {
  const title =
    `Join storm: ${num(o.clients)} clients join one node, ${o.batch} at a time` +
    (o.joinNotices ? ' (every system announces each join to everyone)' : ' (only Switchboard announces each join to everyone)');
  const body = rows.map((r) => {
    if (isFailed(r)) return [r.system, failedCell(r)];
    const unfinished = r.joined < r.clients ? ` (${num(r.failed)} failed, ${num(r.skipped)} not tried: timed out)` : '';
    return [
      r.system,
      `${num(r.joined)}${unfinished}`,
      num(r.joinMs / 1000, 1),
      num(r.notices),
      `${num(r.cpuToJoined.server, 1)} (${num(r.cpuToJoined.nodes, 1)} + ${num(r.cpuToJoined.redis, 1)})`,
      `${num(r.cpuToQuiet.server, 1)} (${num(r.cpuToQuiet.nodes, 1)} + ${num(r.cpuToQuiet.redis, 1)})`,
      `${num(r.rssBefore / MiB, 1)} -> ${num(r.rssAfter / MiB, 1)}`,
      num((r.rssAfter - r.rssBefore) / r.joined / 1024, 1),
      num(r.cpuToQuiet.generator, 1),
      num(r.cpuToQuiet.others, 1),
    ];
  });
  return `${title}\n\n${table(
    [
      'system',
      'joined',
      'time to all joined s',
      'notices delivered',
      'server CPU-s to joined (node + redis)',
      'to quiet (node + redis)',
      'node RSS MiB',
      'RSS per connection KiB',
      'generator CPU-s',
      'others CPU-s',
    ],
    body,
  )}${notes(rows)}`;
}

export function reconnectTable(o: ReconnectOptions, rows: ReadonlyArray<Row<ReconnectResult>>): string {
  const title =
    `Reconnect storm: ${num(o.stormClients)} clients on node 1 of 3, ${o.stable} on nodes 2 and 3 (${o.senders} of them sending ${o.rate} lines/s); ` +
    `node 1 SIGKILLed, its clients reconnect at once to a random surviving node; latency of the stable clients ${o.beforeMs / 1000} s before and ${o.stormMs / 1000} s from the kill`;
  const body = rows.map((r) => {
    if (isFailed(r)) return [r.system, failedCell(r)];
    return [
      r.system,
      `${ms(r.before.latency, 50)} / ${ms(r.before.latency, 99)} / ${num(r.before.latency.maxUs / 1000, 1)}`,
      `${ms(r.storm.latency, 50)} / ${ms(r.storm.latency, 99)} / ${num(r.storm.latency.maxUs / 1000, 1)}`,
      lostCell(r.stormExpected, r.storm.received, r.stillArriving),
      r.reconnectMs === undefined ? `not all: ${num(r.reconnected)} of ${num(o.stormClients)}` : num(r.reconnectMs / 1000, 2),
      `${num(r.reconnectFailures)}${r.reconnectError ? ` (${r.reconnectError})` : ''}`,
      num(r.storm.notices),
      `${num(r.cpu.server, 1)} (${num(r.cpu.nodes, 1)} + ${num(r.cpu.redis, 1)})`,
      num(r.cpu.generator, 1),
      num(r.cpu.others, 1),
    ];
  });
  return `${title}\n\n${table(
    [
      'system',
      'before: p50 / p99 / max ms',
      'storm: p50 / p99 / max ms',
      'lost in storm',
      'time to all reconnected s',
      'failed attempts',
      'notices delivered',
      'server CPU-s from kill (nodes + redis)',
      'generator CPU-s',
      'others CPU-s',
    ],
    body,
  )}${notes(rows)}`;
}

export function roomsTable(o: RoomsOptions, rows: ReadonlyArray<Row<RoomsResult>>): string {
  const spread = o.roomNodes === 1 ? 'each room on one gateway' : `each room spread over ${o.roomNodes} gateways`;
  const title =
    `Rooms: ${o.rooms} rooms x ${o.clientsPerRoom} clients on ${o.nodes} gateways (${spread}), ${o.sendersPerRoom} sender(s) per room, ` +
    `${o.ratePerRoom} lines/s per room (${num(o.ratePerRoom * o.rooms)} lines/s, ${num(o.ratePerRoom * o.rooms * o.clientsPerRoom)} deliveries/s offered), ` +
    `${o.bytes}-byte lines, for ${o.durationMs / 1000} s after ${o.warmupMs / 1000} s of warm-up`;
  const body = rows.map((r) => {
    if (isFailed(r)) return [r.system, failedCell(r)];
    return [
      r.system,
      num(r.deliveriesPerSec),
      lostCell(r.expected, r.received, r.stillArriving),
      num(r.strays),
      ms(r.latency, 50),
      ms(r.latency, 99),
      num(perMillion(r, r.cpu.server), 1),
      num(perMillion(r, r.cpu.nodes), 1),
      num(perMillion(r, r.cpu.redis), 1),
      shardCpu(r.cpu),
      r.cpu.redisEach.length ? num((Math.max(...r.cpu.redisEach) / r.cpu.seconds) * 100, 0) : '-',
      r.idleCpu.redisEach.map((s) => num((s / r.idleCpu.seconds) * 100, 1)).join(' + '),
      r.roomsSubscribed.map((n, i) => `${n}/${r.roomsServed[i] ?? '-'}`).join(' '),
      `${num(r.refused)} / ${closes(r.closes)}`,
      num(r.cpu.generator, 1),
      num(r.cpu.others, 1),
    ];
  });
  return `${title}\n\n${table(
    [
      'system',
      'deliveries/s',
      'lost',
      'strays',
      'p50 ms',
      'p99 ms',
      'server CPU-s per M deliveries',
      'gateway CPU-s per M',
      'redis CPU-s per M',
      'redis CPU-s per shard',
      'busiest redis % of a core',
      'idle: redis % of a core',
      'rooms subscribed/served per gateway',
      'refused / closed',
      'generator CPU-s',
      'others CPU-s',
    ],
    body,
  )}${notes(rows)}`;
}

/** Each redis-server's CPU-seconds (`0.8 + 0.7 + 0.9`), or the one's. */
export function shardCpu(cpu: Pick<CpuUse, 'redisEach'>): string {
  return cpu.redisEach.map((s) => num(s, 1)).join(' + ');
}

function closes(byCode: Record<string, number>): string {
  const entries = Object.entries(byCode);
  return entries.length === 0 ? '0' : entries.map(([code, n]) => `${num(n)}x${code}`).join(' ');
}

/** What the servers logged while measured, one line per system that logged anything, under its table. */
function notes(rows: ReadonlyArray<Row<{ readonly system: string; readonly serverLog: readonly string[] }>>): string {
  const lines = rows.flatMap((r) => (isFailed(r) || r.serverLog.length === 0 ? [] : [`- ${r.system} logged: ${r.serverLog.join('; ')}`]));
  return lines.length ? `\n\nServer warnings and errors while measured:\n${lines.join('\n')}` : '';
}

/** One round's figures of each system that measured (failed rows left out). */
function figuresOf(rows: ReadonlyArray<Row<FanoutResult>>): RoundFigures[] {
  return rows
    .filter((r): r is FanoutResult => !isFailed(r))
    .map((r) => ({
      system: r.system,
      cpuPerMillion: perMillion(r, r.cpu.server),
      p99Ms: r.latency.percentile(99) / 1000,
      lost: r.expected - r.received,
    }));
}

/** `median (min-max)` of a spread. */
const spreadText = (s: Spread | undefined, digits: number) =>
  s === undefined ? '-' : `${num(s.median, digits)} (${num(s.min, digits)}-${num(s.max, digits)})`;

/** The medians of several rounds of one fan-out measurement (--rounds), each system against Socket.IO in the same round. */
export function fanoutRoundsTable(o: FanoutOptions, rounds: ReadonlyArray<ReadonlyArray<Row<FanoutResult>>>): string {
  const summary = summarizeRounds(rounds.map(figuresOf), isReference);
  const title = `Fan-out at ${o.rate} lines/s, ${o.clients} clients: medians (and ranges) over ${rounds.length} rounds, every system in turn each round`;
  return `${title}\n\n${table(
    ['system', 'rounds', 'CPU-s per M deliveries', 'CPU vs Socket.IO (same round)', 'p99 ms', 'lost (all rounds)'],
    summary.map((s) => [
      s.system,
      String(s.rounds),
      spreadText(s.cpuPerMillion, 1),
      spreadText(s.ratio, 2),
      spreadText(s.p99Ms, 1),
      num(s.lost),
    ]),
  )}`;
}

/** The figures of one measurement's rows that the goals are judged on (reference-goals.ts). */
export function costFigures(rows: ReadonlyArray<Row<FanoutResult | RoomsResult>>): Array<CostFigures | NotMeasured> {
  return rows.map((r) =>
    isFailed(r)
      ? { id: r.id ?? r.system, system: r.system, error: failedCell(r) }
      : {
          id: r.id,
          system: r.system,
          cpuPerMillion: perMillion(r, r.cpu.server),
          p99Ms: r.latency.percentile(99) / 1000,
          lost: r.expected - r.received,
          ...('strays' in r && { strays: r.strays }),
        },
  );
}

/**
 * Under a scenario's table: each Switchboard row against each reference of the
 * scenario's goals in the same run, Switchboard's server CPU per delivery over
 * the reference's, with both p99s, and the goal.
 */
export function referencesTable(title: string, comparisons: readonly Comparison[], rooms: boolean): string {
  return `${title}\n\n${table(
    ['Switchboard', 'against', 'server CPU-s per M (ours / theirs)', 'CPU ratio', 'p99 ms (ours / theirs)', 'goal', 'this run'],
    comparisons.map((c) =>
      c.unmeasured !== undefined
        ? [c.system, c.reference, '-', '-', '-', goalText(c.goal, rooms), `no figures: ${c.unmeasured}`]
        : [
            c.system,
            c.reference,
            `${num(c.cpuPerMillion, 1)} / ${num(c.referenceCpuPerMillion, 1)}`,
            `${num(c.cpuRatio, 2)}x`,
            `${num(c.p99Ms, 1)} / ${num(c.referenceP99Ms, 1)}`,
            goalText(c.goal, rooms),
            c.misses!.length === 0 ? 'within' : `missed: ${c.misses!.join(', ')}`,
          ],
    ),
  )}`;
}

/** The same over several rounds: the ratio's and the p99s' medians (and ranges), and in how many rounds the goal held. */
export function referencesRoundsTable(title: string, rounds: ReadonlyArray<readonly Comparison[]>, rooms: boolean): string {
  return `${title}\n\n${table(
    ['Switchboard', 'against', 'rounds', 'CPU ratio', 'p99 ms, ours', 'p99 ms, theirs', 'goal', 'rounds within'],
    summarizeComparisons(rounds).map((s) => [
      s.system,
      s.reference,
      String(s.rounds),
      spreadText(s.cpuRatio, 2),
      spreadText(s.p99Ms, 1),
      spreadText(s.referenceP99Ms, 1),
      goalText(s.goal, rooms),
      `${s.met} of ${s.rounds}`,
    ]),
  )}`;
}

/** Every Switchboard row of one measurement against `goals` (REFERENCE_GOALS of its scenario). */
export function comparisons(rows: ReadonlyArray<Row<FanoutResult | RoomsResult>>, goals: readonly ReferenceGoal[]): Comparison[] {
  return compareWithReferences(costFigures(rows), goals);
}

/** What each scenario's table shows: one row per system, from the scenarios' results. */
import type { FanoutOptions, FanoutResult } from './scenarios/fanout.js';
import type { JoinOptions, JoinResult } from './scenarios/join.js';
import type { ReconnectOptions, ReconnectResult } from './scenarios/reconnect.js';
import type { RoomsOptions, RoomsResult } from './scenarios/rooms.js';
import type { Histogram } from './generator/histogram.js';
import { num, table } from './table.js';
import type { CpuUse } from './cpu-meter.js';
import { summarizeRounds, type RoundFigures, type Spread } from './rounds.js';

/** A system whose run failed: its row says why. */
export interface Failed {
  readonly system: string;
  readonly error: string;
}

type Row<T> = T | Failed;

const isFailed = <T extends object>(row: Row<T>): row is Failed => 'error' in row;
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
    if (isFailed(r)) return [r.system, `failed: ${r.error}`];
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
    if (isFailed(r)) return [r.system, `failed: ${r.error}`];
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
    if (isFailed(r)) return [r.system, `failed: ${r.error}`];
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
    if (isFailed(r)) return [r.system, `failed: ${r.error}`];
    return [
      r.system,
      num(r.deliveriesPerSec),
      lostCell(r.expected, r.received, r.stillArriving),
      num(r.strays),
      ms(r.latency, 50),
      ms(r.latency, 99),
      num(perMillion(r, r.cpu.nodes), 1),
      num(perMillion(r, r.cpu.redis), 1),
      shardCpu(r.cpu),
      num((Math.max(...r.cpu.redisEach) / r.cpu.seconds) * 100, 0),
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
      'gateway CPU-s per M deliveries',
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

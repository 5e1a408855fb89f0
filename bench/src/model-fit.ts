/**
 * From the model probes' measurements (scenarios/model.ts) to unit costs
 * (`@switchboard/cli/capacity-model`). Every phase's CPU is taken less what the
 * same processes used at rest (or idle, for traffic) over as long, so that what
 * is left is the work of the joins, or of the lines:
 *
 * - at rest: the at-rest phase, per gateway and per shard;
 * - per connection held: idle minus at rest, over the connections (the memory
 *   probe, pinging every second), scaled to PING_INTERVAL_MS' default;
 * - per join: the connect phase; in Redis split into the sessions slot's shard
 *   (less what a shard without it did) and the rest (the rooms' shards);
 * - per line published, heard and delivered: a least-squares fit over every
 *   gateway of the traffic probes, each by its own CPU (in the roles probe one
 *   gateway publishes, hears and delivers, another only hears and delivers once,
 *   a third hears and delivers 19 times); in Redis, over the probes' totals, whose
 *   lines go to 1 or 3 gateways;
 * - memory: RSS and used_memory added by the connections; used_memory added per
 *   line kept in the history.
 */
import type { GatewayCosts, ShardCosts } from '@switchboard/cli/capacity-model';
import type { CpuUse } from './cpu-meter.js';
import type { ProbeResult } from './scenarios/model.js';

/** What the fit reads of a probe. */
export type ProbeFigures = Pick<
  ProbeResult,
  | 'connections'
  | 'sessionsShard'
  | 'atRest'
  | 'connect'
  | 'idle'
  | 'traffic'
  | 'lines'
  | 'historyLines'
  | 'linesHeard'
  | 'deliveries'
  | 'perGateway'
  | 'rssAtRest'
  | 'rssConnected'
  | 'redisMemoryAtRest'
  | 'redisMemoryConnected'
  | 'redisMemoryAfter'
> & { readonly probe: { readonly rooms: number; readonly name: string } };

/** The CPU of a phase the fit reads. */
type Cpu = Pick<CpuUse, 'nodes' | 'redisEach' | 'seconds'>;

export interface Fit {
  readonly gateway: GatewayCosts;
  readonly redisShard: ShardCosts;
  /** What was adjusted, in words (a cost that came out below 0 is taken as 0). */
  readonly notes: readonly string[];
  /** How well the linear costs fit each equation: the traffic CPU-seconds of each gateway, and of the shards, of each probe (beyond idle). */
  readonly residuals: readonly Residual[];
}

export interface Residual {
  readonly what: string;
  readonly measured: number;
  readonly fitted: number;
}

export interface PingIntervals {
  /** PING_INTERVAL_MS of the memory probe (short, so that held connections cost measurably). */
  readonly probeMs: number;
  /** The gateway's default, which the plan assumes. */
  readonly defaultMs: number;
}

const US = 1e6;
/** /proc counts CPU time in clock ticks: 1/100 s (CLK_TCK) on Linux. */
const TICK_S = 0.01;

/**
 * The unit costs from `memory` (a probe that only connects, pinging every
 * `ping.probeMs`) and the `traffic` probes (at least three, of different shapes).
 */
export function fitCosts(memory: ProbeFigures, traffic: readonly ProbeFigures[], ping: PingIntervals): Fit {
  const notes: string[] = [];
  const atLeast0 = (value: number, what: string): number => {
    if (value >= 0) return value;
    notes.push(`${what} came out at ${value.toPrecision(3)} (noise above the cost): taken as 0`);
    return 0;
  };
  const sending = traffic.filter((p) => p.traffic !== undefined);
  if (sending.length < 3) throw new Error(`the fit needs 3 probes with traffic, got ${sending.length}`);
  const all = [memory, ...sending];
  const gateways = (p: ProbeFigures) => p.rssAtRest.length;
  const shards = (p: ProbeFigures) => p.redisMemoryAtRest.length;

  // Gateways.
  const gatewayAtRest = mean(all.map((p) => p.atRest.nodes / p.atRest.seconds / gateways(p)));
  /**
   * What held connections add at rest, in cores per connection: idle less at rest,
   * unless the difference is within what /proc resolves (a clock tick at each end
   * of each phase, per process): then none (the Redis side has no periodic work
   * per session by design: leases, sweeps and room renewals are per node and per room).
   */
  const held = (who: 'nodes' | 'redis', processes: number, what: string): number => {
    const cpu = (c: Cpu) => (who === 'nodes' ? c.nodes : sum(c.redisEach));
    const difference = cpu(memory.idle) - (cpu(memory.atRest) / memory.atRest.seconds) * memory.idle.seconds;
    if (Math.abs(difference) > 4 * TICK_S * processes) return difference / memory.idle.seconds / memory.connections;
    notes.push(`${what}: idle and at rest differ by ${difference.toFixed(2)} CPU-s, within what /proc resolves: taken as 0`);
    return 0;
  };
  const heldGateway = held('nodes', gateways(memory), 'gateway CPU per connection at rest');
  const joinGateway = mean(sending.map((p) => excess(p.connect, p.atRest, 'nodes') / p.connections));
  // One equation per gateway of each probe: its own CPU, less its own idle rate over as long.
  const gatewayRuns = sending.flatMap((p) =>
    p.perGateway.map((g, gateway) => ({
      what: `${p.probe.name}: gateway ${gateway + 1}`,
      x: [g.published, g.heard, g.deliveries],
      y: g.traffic - (g.idle / p.idle.seconds) * p.traffic!.seconds,
    })),
  );
  const gatewayCosts = leastSquares(
    gatewayRuns.map((r) => r.x),
    gatewayRuns.map((r) => r.y),
  );
  const [published, heard, delivery] = gatewayCosts as [number, number, number];

  // Redis shards: the sessions slot's shard apart from the others.
  const shardAtRest = mean(all.map((p) => sum(p.atRest.redisEach) / p.atRest.seconds / shards(p)));
  const heldRedis = held('redis', shards(memory), 'shard CPU per connection at rest');
  const joins = sending.map((p) => splitSessions(p, (k) => excessOf(p.connect, p.atRest, k)));
  const redisRuns = sending.map((p) => ({
    what: `${p.probe.name}: Redis shards`,
    x: [p.lines, p.linesHeard],
    y: excess(p.traffic!, p.idle, 'redis'),
  }));
  const redisCosts = leastSquares(
    redisRuns.map((r) => r.x),
    redisRuns.map((r) => r.y),
  );
  const [line, subscriber] = redisCosts as [number, number];
  const fitted = (runs: typeof redisRuns, costs: readonly number[]) =>
    runs.map((r) => ({ what: r.what, measured: r.y, fitted: r.x.reduce((all, count, i) => all + count * costs[i]!, 0) }));
  const memorySplit = splitSessions(memory, (k) => memory.redisMemoryConnected[k]! - memory.redisMemoryAtRest[k]!);
  const richest = sending.reduce((a, b) => (b.historyLines / b.probe.rooms > a.historyLines / a.probe.rooms ? b : a));
  const historyBytes = sum(richest.redisMemoryAfter) - sum(richest.redisMemoryConnected);

  return {
    gateway: {
      cpuAtRestCores: atLeast0(gatewayAtRest, 'gateway CPU at rest'),
      memoryAtRestBytes: mean(all.flatMap((p) => p.rssAtRest)),
      cpuPerConnectionAtRestUsPerS: atLeast0(heldGateway * US * (ping.probeMs / ping.defaultMs), 'gateway CPU per connection at rest'),
      memoryPerConnectionBytes: atLeast0(
        (sum(memory.rssConnected) - sum(memory.rssAtRest)) / memory.connections,
        'gateway memory per connection',
      ),
      cpuPerJoinUs: atLeast0(joinGateway * US, 'gateway CPU per join'),
      cpuPerLinePublishedUs: atLeast0(published * US, 'gateway CPU per line published'),
      cpuPerLineHeardUs: atLeast0(heard * US, 'gateway CPU per line heard'),
      cpuPerDeliveryUs: atLeast0(delivery * US, 'gateway CPU per delivery'),
    },
    redisShard: {
      cpuAtRestCores: atLeast0(shardAtRest, 'shard CPU at rest'),
      cpuPerLineUs: atLeast0(line * US, 'shard CPU per line'),
      cpuPerLineSubscriberUs: atLeast0(subscriber * US, 'shard CPU per line and subscribed gateway'),
      cpuPerJoinSessionsUs: atLeast0(mean(joins.map((j) => j.sessions)) * US, 'sessions slot CPU per join'),
      cpuPerJoinRoomsUs: atLeast0(mean(joins.map((j) => j.rooms)) * US, "rooms' shards CPU per join"),
      cpuPerConnectionAtRestUsPerS: atLeast0(heldRedis * US, 'shard CPU per connection at rest'),
      memoryPerSessionBytes: atLeast0(memorySplit.sessions, 'Redis memory per session'),
      memoryPerHistoryLineBytes: atLeast0(historyBytes / richest.historyLines, 'Redis memory per history line'),
    },
    notes,
    residuals: [...fitted(gatewayRuns, gatewayCosts), ...fitted(redisRuns, redisCosts)],
  };
}

/** Each cost's median over several fits (rounds of the probes), and its range. */
export function medianFit(fits: readonly Fit[]): Fit & { readonly ranges: Record<string, readonly [number, number]> } {
  if (fits.length === 0) throw new Error('no fit to take the median of');
  const ranges: Record<string, readonly [number, number]> = {};
  const each = <T extends object>(where: string, pick: (f: Fit) => T): T => {
    const out: Record<string, number> = {};
    for (const key of Object.keys(pick(fits[0]!))) {
      const values = fits.map((f) => (pick(f) as Record<string, number>)[key]!).sort((a, b) => a - b);
      const middle = values.length / 2;
      out[key] = values.length % 2 === 1 ? values[Math.floor(middle)]! : (values[middle - 1]! + values[middle]!) / 2;
      ranges[`${where}.${key}`] = [values[0]!, values[values.length - 1]!];
    }
    return out as T;
  };
  return {
    gateway: each('gateway', (f) => f.gateway),
    redisShard: each('redisShard', (f) => f.redisShard),
    notes: fits.flatMap((f, i) => f.notes.map((note) => (fits.length > 1 ? `round ${i + 1}: ${note}` : note))),
    residuals: fits.flatMap((f) => f.residuals),
    ranges,
  };
}

/**
 * Per connection of `p`: what the sessions slot's shard did beyond a shard
 * without it (`sessions`), and what the shards did for the rooms, all together
 * (`rooms`: the others' mean, times the shards). One Redis: all of it is sessions.
 */
function splitSessions(p: ProbeFigures, of: (shard: number) => number): { sessions: number; rooms: number } {
  const count = p.redisMemoryAtRest.length;
  const own = of(p.sessionsShard);
  if (count === 1) return { sessions: own / p.connections, rooms: 0 };
  const others = mean(
    Array.from({ length: count }, (_, k) => k)
      .filter((k) => k !== p.sessionsShard)
      .map(of),
  );
  return { sessions: (own - others) / p.connections, rooms: (others * count) / p.connections };
}

/** Cores used in `cpu` by the gateways (`nodes`) or the shards together (`redis`). */
function rate(cpu: Cpu, who: 'nodes' | 'redis'): number {
  return (who === 'nodes' ? cpu.nodes : sum(cpu.redisEach)) / cpu.seconds;
}

/** CPU-seconds of `phase` beyond what `rest`'s rate would have used in as long. */
function excess(phase: Cpu, rest: Cpu, who: 'nodes' | 'redis'): number {
  return (who === 'nodes' ? phase.nodes : sum(phase.redisEach)) - rate(rest, who) * phase.seconds;
}

/** The same for one shard. */
function excessOf(phase: Cpu, rest: Cpu, shard: number): number {
  return phase.redisEach[shard]! - (rest.redisEach[shard]! / rest.seconds) * phase.seconds;
}

/** The x minimizing |Ax - y|² (normal equations, Gaussian elimination with partial pivoting). */
export function leastSquares(a: ReadonlyArray<readonly number[]>, y: readonly number[]): number[] {
  const n = a[0]?.length ?? 0;
  if (a.length < n) throw new Error(`${a.length} equations for ${n} unknowns`);
  // Each column scaled to its largest value first: counts of lines and of deliveries differ by orders of magnitude.
  const scale = Array.from({ length: n }, (_, j) => Math.max(...a.map((row) => Math.abs(row[j]!))) || 1);
  const m = Array.from({ length: n }, (_, i) => [
    ...Array.from({ length: n }, (_, j) => sum(a.map((row) => (row[i]! / scale[i]!) * (row[j]! / scale[j]!)))),
    sum(a.map((row, r) => (row[i]! / scale[i]!) * y[r]!)),
  ]);
  for (let col = 0; col < n; col++) {
    const pivot = m.slice(col).reduce((best, row, k) => (Math.abs(row[col]!) > Math.abs(m[best]![col]!) ? col + k : best), col);
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    if (Math.abs(m[col]![col]!) < 1e-12) throw new Error('the probes do not separate the costs (singular system)');
    const top = m[col]!;
    for (const row of m) {
      if (row === top) continue;
      const f = row[col]! / top[col]!;
      for (let c = col; c <= n; c++) row[c] = row[c]! - f * top[c]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]! / scale[i]!);
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function mean(values: readonly number[]): number {
  return sum(values) / values.length;
}

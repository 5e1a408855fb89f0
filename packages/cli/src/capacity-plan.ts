/**
 * `switchboard plan`: the gateways, Redis shards and memory a load needs, by the
 * capacity model (capacity-model.ts) from measured costs: the ones bundled with
 * the CLI (model-costs.json, written by `npm run bench -- --scenario model`) or
 * another file (`--costs`).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MAX_ROOMS } from '@switchboard/protocol';
import {
  CostsError,
  DEFAULT_ASSUMPTIONS,
  plan,
  readCosts,
  type Assumptions,
  type Demand,
  type MeasuredCosts,
  type Plan,
} from './capacity-model.js';

/** The measured costs shipped with the CLI (beside src/ and dist/). */
export const BUNDLED_COSTS = fileURLToPath(new URL('../model-costs.json', import.meta.url));

/** Without --joins-per-sec, each connection arrives (connects and joins its room) once in this many seconds: half an hour. */
export const SESSION_SECONDS = 1_800;

export interface PlanRequest {
  readonly demand: Demand;
  readonly assumptions: Assumptions;
  /** A costs file; undefined: the bundled one. */
  readonly costs?: string;
}

/** The costs in `file`, checked; a CostsError naming the file and what is wrong. */
export function loadCosts(file: string): MeasuredCosts {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CostsError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return readCosts(json);
  } catch (err) {
    if (err instanceof CostsError) throw new CostsError(`${file}: ${err.message}`);
    throw err;
  }
}

/** Print the plan; 0, or 1 with the reason when the costs cannot be read. */
export function runPlan(request: PlanRequest, out: NodeJS.WritableStream, err: NodeJS.WritableStream): number {
  const file = request.costs ?? BUNDLED_COSTS;
  try {
    const costs = loadCosts(file);
    out.write(planText(costs, request.costs ?? 'bundled model-costs.json', request.demand, request.assumptions));
    return 0;
  } catch (e) {
    if (!(e instanceof CostsError)) throw e;
    err.write(`switchboard plan: ${e.message}\n`);
    return 1;
  }
}

/** The plan for `d` under `a`, in words and a few lines. */
export function planText(costs: MeasuredCosts, source: string, d: Demand, a: Assumptions): string {
  const p = plan(costs, d, a);
  const placement =
    a.placement === 'spread'
      ? 'members spread over the gateways by the balancer'
      : "each room's members kept on one gateway (room-aware balancer)";
  const lines = [
    `Plan: ${n(d.connections)} connections in ${n(d.rooms)} rooms (${n(p.membersPerRoom, 1)} members each), ${n(d.ratePerRoom, 1)} lines/s per room`,
    `      ${n(p.linesPerSec)} lines/s published, ${n(p.deliveriesPerSec)} deliveries/s, ${n(d.joinsPerSec, 1)} joins/s`,
    `      each gateway and each Redis shard at most ${pct(a.headroom)} of one core; ${placement}`,
    '',
    gatewayLine(p),
    shardLine(p),
    `memory        ${p.gateways.ok ? `gateways ${bytes(p.gateways.count * p.gateways.memoryBytes)} in all; ` : ''}Redis ${bytes(p.redisMemoryBytes)} in all (sessions ${bytes(p.sessionsMemoryBytes)}, all on one shard; history ${bytes(p.historyBytesPerRoom)} per room)`,
    '',
    'Ceilings',
    `  one room lives on one shard: at most ${n(p.ceilings.maxLinesPerRoom)} lines/s per room (here ${n(d.ratePerRoom, 1)})`,
    p.ceilings.maxJoinsPerSec > 0
      ? `  the sessions slot (one shard): at most ${n(p.ceilings.maxJoinsPerSec)} joins/s (here ${n(d.joinsPerSec, 1)}); all ${n(d.connections)} connections coming back at once take ${n(p.ceilings.reconnectAllSeconds, 1)} s`
      : `  the sessions slot (one shard): no joins at all: the ${n(d.connections)} sessions held take its whole ${pct(a.headroom)} of a core`,
    ...(p.ceilings.hit.length === 0 ? ['  none is hit'] : p.ceilings.hit.map((h) => `  HIT: ${h}`)),
    ...settingsNeeded(p, d),
    '',
    `Costs: ${source}, measured ${costs.measured.at || 'at an unknown time'}${costs.measured.commit ? ` at ${costs.measured.commit}` : ''} with ${costs.measured.lineBytes}-byte lines`,
    `       (${costs.measured.command || 'unknown command'}; ${costs.measured.machine || 'unknown machine'})`,
  ];
  return `${lines.join('\n')}\n`;
}

function gatewayLine(p: Plan): string {
  const g = p.gateways;
  if (!g.ok) return `gateways      none will do: ${g.reason}`;
  return `gateways      ${n(g.count)}: each ${pct(g.cpuCores)} of a core, ${n(g.connections)} connections, ${bytes(g.memoryBytes)}; a room spans ${n(g.gatewaysPerRoom, 1)} of them`;
}

function shardLine(p: Plan): string {
  const s = p.shards;
  if (!s.ok) return `Redis shards  none will do: ${s.reason}`;
  return `Redis shards  ${n(s.count)}: the busiest ${pct(s.busiestCpuCores)} of a core (of which the sessions slot ${pct(s.sessionsCpuCores)}), ${bytes(s.busiestMemoryBytes)}`;
}

/** Settings whose defaults the plan goes past. */
function settingsNeeded(p: Plan, d: Demand): string[] {
  const needed: string[] = [];
  if (d.rooms > MAX_ROOMS) needed.push(`MAX_ROOMS at least ${n(d.rooms)} (default ${n(MAX_ROOMS)})`);
  const maxConnections = DEFAULT_ASSUMPTIONS.maxConnectionsPerGateway;
  if (p.gateways.ok && p.gateways.connections > maxConnections)
    needed.push(`MAX_CONNECTIONS at least ${n(Math.ceil(p.gateways.connections))} (default ${n(maxConnections)})`);
  return needed.length === 0 ? [] : ['', `Settings: ${needed.join('; ')}`];
}

const n = (value: number, digits = 0) =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'unbounded';
const pct = (share: number) => `${Math.round(share * 100)} %`;

function bytes(value: number): string {
  for (const [unit, size] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const)
    if (value >= size) return `${n(value / size, 1)} ${unit}`;
  return `${n(value)} bytes`;
}

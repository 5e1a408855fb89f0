/**
 * The capacity model: what a deployment costs, from unit costs measured by
 * `npm run bench -- --scenario model` (model-costs.json). Pure: no I/O.
 *
 * A gateway pays for each line a client of its own publishes, for each line of a
 * room it serves (it hears it from Redis once and builds the frame once), for
 * each delivery (a frame written to one client: below ~50 lines/s per client,
 * each delivery is its own write), for each join and for each connection it holds
 * at rest; a Redis shard for each line of a room it holds (the publish script,
 * the history append) and for each gateway that line goes to, and the shard of
 * the sessions slot for each join. Costs add up linearly; each gateway and each
 * shard (both single-threaded) is planned to at most `headroom` of a core.
 */
import { HISTORY_MAX_AGE_MS, HISTORY_MAX_EVENTS } from '@switchboard/protocol';

/** A gateway's unit costs. CPU in microseconds (µs) of one core. */
export interface GatewayCosts {
  /** A gateway with no clients (timers, leases, shard probes), in cores. */
  readonly cpuAtRestCores: number;
  /** Its resident memory with no clients, bytes. */
  readonly memoryAtRestBytes: number;
  /** CPU each idle connection costs per second (pings at PING_INTERVAL_MS' default), µs/s. */
  readonly cpuPerConnectionAtRestUsPerS: number;
  readonly memoryPerConnectionBytes: number;
  /** A client arriving: upgrade, welcome, session, joining its room, its notices. */
  readonly cpuPerJoinUs: number;
  /** A line a client of this gateway sends: parsed, checked, published. */
  readonly cpuPerLinePublishedUs: number;
  /** A line of a room this gateway serves, heard from Redis: parsed, framed once. */
  readonly cpuPerLineHeardUs: number;
  /** One frame written to one client. */
  readonly cpuPerDeliveryUs: number;
}

/** A Redis shard's unit costs. CPU in µs of one core. */
export interface ShardCosts {
  /** A shard with no clients on the gateways (cron, gossip, the gateways' probes), in cores. */
  readonly cpuAtRestCores: number;
  /** A line of a room on this shard: the publish script, the history append, the publish. */
  readonly cpuPerLineUs: number;
  /** The same line sent to each gateway subscribed to its room. */
  readonly cpuPerLineSubscriberUs: number;
  /** A join's work in the sessions slot (one shard holds it all). */
  readonly cpuPerJoinSessionsUs: number;
  /** A join's work on the rooms' shards (its notices, the room's recent lines). */
  readonly cpuPerJoinRoomsUs: number;
  /** On the sessions slot's shard, per connection held, µs/s. */
  readonly cpuPerConnectionAtRestUsPerS: number;
  /** A session's keys, all on the sessions slot's shard. */
  readonly memoryPerSessionBytes: number;
  /** A line kept in its room's history (and recent list). */
  readonly memoryPerHistoryLineBytes: number;
}

/** Where and how the costs were measured. */
export interface Provenance {
  readonly at: string;
  readonly commit: string;
  readonly command: string;
  readonly machine: string;
  /** Text bytes of each line measured. */
  readonly lineBytes: number;
  readonly notes: readonly string[];
}

export interface MeasuredCosts {
  readonly measured: Provenance;
  readonly gateway: GatewayCosts;
  readonly redisShard: ShardCosts;
}

/** What happened over some seconds: the counts the costs are paid for. */
export interface Traffic {
  readonly seconds: number;
  readonly gateways: number;
  readonly shards: number;
  /** Held throughout. */
  readonly connections: number;
  readonly joins: number;
  /** Lines published. */
  readonly lines: number;
  /** Each line once per gateway serving its room (= per gateway subscribed to it). */
  readonly linesHeard: number;
  readonly deliveries: number;
}

/** CPU-seconds the gateways (all together) and the shards (all together) spend on `t`. */
export function cpuSeconds(c: MeasuredCosts, t: Traffic): { readonly gateways: number; readonly shards: number } {
  const g = c.gateway;
  const r = c.redisShard;
  const us = 1e-6;
  return {
    gateways:
      t.gateways * g.cpuAtRestCores * t.seconds +
      t.connections * g.cpuPerConnectionAtRestUsPerS * us * t.seconds +
      t.joins * g.cpuPerJoinUs * us +
      t.lines * g.cpuPerLinePublishedUs * us +
      t.linesHeard * g.cpuPerLineHeardUs * us +
      t.deliveries * g.cpuPerDeliveryUs * us,
    shards:
      t.shards * r.cpuAtRestCores * t.seconds +
      t.connections * r.cpuPerConnectionAtRestUsPerS * us * t.seconds +
      t.joins * (r.cpuPerJoinSessionsUs + r.cpuPerJoinRoomsUs) * us +
      t.lines * r.cpuPerLineUs * us +
      t.linesHeard * r.cpuPerLineSubscriberUs * us,
  };
}

/** How a room's members land on the gateways: spread by the balancer (at random), or kept together (room-aware). */
export type Placement = 'spread' | 'room';

/** Gateways a room of `members` spans among `gateways` holding `perGateway` connections each (expected, for `spread`). */
export function gatewaysPerRoom(members: number, gateways: number, placement: Placement, perGateway: number): number {
  if (placement === 'room') return Math.min(gateways, Math.max(1, Math.ceil(members / perGateway)));
  return gateways * (1 - (1 - 1 / gateways) ** members);
}

export interface Demand {
  readonly connections: number;
  readonly rooms: number;
  /** Lines per second in each room, all its members together. */
  readonly ratePerRoom: number;
  /** Clients arriving (connect and join) per second, cluster-wide. */
  readonly joinsPerSec: number;
}

export interface Assumptions {
  /** Share of one core a gateway or a shard is planned to at most. */
  readonly headroom: number;
  readonly placement: Placement;
  /** A gateway's MAX_CONNECTIONS. */
  readonly maxConnectionsPerGateway: number;
  /** HISTORY_MAX_EVENTS and HISTORY_MAX_AGE_MS: what a room's history keeps. */
  readonly historyMaxEvents: number;
  readonly historyMaxAgeMs: number;
}

export const DEFAULT_ASSUMPTIONS: Assumptions = {
  headroom: 0.65,
  placement: 'spread',
  maxConnectionsPerGateway: 10_000,
  historyMaxEvents: HISTORY_MAX_EVENTS,
  historyMaxAgeMs: HISTORY_MAX_AGE_MS,
};

/** A count found, or why none will do. */
export type Sized<T> = ({ readonly ok: true; readonly count: number } & T) | { readonly ok: false; readonly reason: string };

export interface GatewayFigures {
  /** Each gateway's share of a core, connections and memory. */
  readonly cpuCores: number;
  readonly connections: number;
  readonly memoryBytes: number;
  readonly gatewaysPerRoom: number;
}

export interface ShardFigures {
  /** The busiest shard (the one holding the sessions slot, with its share of the rooms). */
  readonly busiestCpuCores: number;
  /** Of which the sessions slot's work. */
  readonly sessionsCpuCores: number;
  /** That shard's memory: sessions and its rooms' history. */
  readonly busiestMemoryBytes: number;
}

export interface Ceilings {
  /** Lines/s one room can carry: it lives on one shard. */
  readonly maxLinesPerRoom: number;
  /** Joins/s the sessions slot can take (one shard). */
  readonly maxJoinsPerSec: number;
  /** How long every connection takes to come back at that rate (a full reconnect). */
  readonly reconnectAllSeconds: number;
  /** What the demand runs into, in words; empty when nothing. */
  readonly hit: readonly string[];
}

export interface Plan {
  readonly membersPerRoom: number;
  readonly linesPerSec: number;
  readonly deliveriesPerSec: number;
  readonly gateways: Sized<GatewayFigures>;
  readonly shards: Sized<ShardFigures>;
  /** Redis memory in all: sessions plus every room's history. */
  readonly redisMemoryBytes: number;
  readonly sessionsMemoryBytes: number;
  readonly historyBytesPerRoom: number;
  readonly ceilings: Ceilings;
}

/** Beyond this many gateways or shards the plan gives up. */
const MOST = 100_000;

/** The fewest gateways and shards that keep each under `a.headroom` of a core, their memory, and the ceilings met on the way. */
export function plan(c: MeasuredCosts, d: Demand, a: Assumptions = DEFAULT_ASSUMPTIONS): Plan {
  if (!(d.connections >= 1 && d.rooms >= 1 && d.rooms <= d.connections))
    throw new RangeError('a plan needs at least 1 connection and 1 room, and no more rooms than connections');
  const members = d.connections / d.rooms;
  const linesPerSec = d.rooms * d.ratePerRoom;
  const g = c.gateway;
  const r = c.redisShard;
  const us = 1e-6;

  const gatewayAt = (count: number) => {
    const perGateway = d.connections / count;
    const spanned = gatewaysPerRoom(members, count, a.placement, perGateway);
    const total = cpuSeconds(c, { ...perSecond(d, linesPerSec, spanned), gateways: count, shards: 1 }).gateways;
    return {
      cpuCores: total / count,
      connections: perGateway,
      memoryBytes: g.memoryAtRestBytes + perGateway * g.memoryPerConnectionBytes,
      gatewaysPerRoom: spanned,
    };
  };
  const fewestGateways = Math.max(1, Math.ceil(d.connections / a.maxConnectionsPerGateway));
  const gateways = smallest(
    fewestGateways,
    gatewayAt,
    (f) => f.cpuCores <= a.headroom,
    () => `no number of gateways up to ${MOST.toLocaleString('en-US')} keeps each under ${pct(a.headroom)} of a core`,
  );
  const spanned = gateways.ok
    ? gateways.gatewaysPerRoom
    : gatewaysPerRoom(members, fewestGateways, a.placement, d.connections / fewestGateways);

  const historyLines = Math.min(a.historyMaxEvents, d.ratePerRoom * (a.historyMaxAgeMs / 1000));
  const historyBytesPerRoom = historyLines * r.memoryPerHistoryLineBytes;
  const sessionsMemoryBytes = d.connections * r.memoryPerSessionBytes;
  const roomCores = d.ratePerRoom * (r.cpuPerLineUs + spanned * r.cpuPerLineSubscriberUs) * us;
  const sessionsCores = (d.joinsPerSec * r.cpuPerJoinSessionsUs + d.connections * r.cpuPerConnectionAtRestUsPerS) * us;
  const shardAt = (count: number) => {
    const rooms = Math.ceil(d.rooms / count);
    const busiestCpuCores = r.cpuAtRestCores + rooms * roomCores + (d.joinsPerSec * r.cpuPerJoinRoomsUs * us) / count + sessionsCores;
    return { busiestCpuCores, sessionsCpuCores: sessionsCores, busiestMemoryBytes: sessionsMemoryBytes + rooms * historyBytesPerRoom };
  };
  const shards = smallest(
    1,
    shardAt,
    (f) => f.busiestCpuCores <= a.headroom,
    () => shardsReason(r.cpuAtRestCores, roomCores, sessionsCores, a.headroom),
    d.rooms,
  );

  const free = a.headroom - r.cpuAtRestCores;
  const maxLinesPerRoom = Math.max(0, free / ((r.cpuPerLineUs + spanned * r.cpuPerLineSubscriberUs) * us));
  const maxJoinsPerSec = Math.max(0, (free - d.connections * r.cpuPerConnectionAtRestUsPerS * us) / (r.cpuPerJoinSessionsUs * us));
  const hit: string[] = [];
  if (d.ratePerRoom > maxLinesPerRoom)
    hit.push(`a room's ${d.ratePerRoom} lines/s is more than one shard carries (${fmt(maxLinesPerRoom)})`);
  if (d.joinsPerSec > maxJoinsPerSec)
    hit.push(`${fmt(d.joinsPerSec)} joins/s is more than the sessions slot takes (${fmt(maxJoinsPerSec)})`);
  if (!gateways.ok) hit.push(gateways.reason);
  if (!shards.ok) hit.push(shards.reason);

  return {
    membersPerRoom: members,
    linesPerSec,
    deliveriesPerSec: d.connections * d.ratePerRoom,
    gateways,
    shards,
    redisMemoryBytes: sessionsMemoryBytes + d.rooms * historyBytesPerRoom,
    sessionsMemoryBytes,
    historyBytesPerRoom,
    ceilings: { maxLinesPerRoom, maxJoinsPerSec, reconnectAllSeconds: d.connections / maxJoinsPerSec, hit },
  };
}

/** One second of `d`, with rooms spanning `spanned` gateways each. */
function perSecond(d: Demand, linesPerSec: number, spanned: number): Omit<Traffic, 'gateways' | 'shards'> {
  return {
    seconds: 1,
    connections: d.connections,
    joins: d.joinsPerSec,
    lines: linesPerSec,
    linesHeard: linesPerSec * spanned,
    deliveries: d.connections * d.ratePerRoom,
  };
}

/** The first count from `from` (at most `most`) whose figures are `good`. */
function smallest<T>(from: number, at: (count: number) => T, good: (f: T) => boolean, reason: () => string, most = MOST): Sized<T> {
  for (let count = from; count <= Math.max(from, most); count++) {
    const figures = at(count);
    if (good(figures)) return { ok: true, count, ...figures };
  }
  return { ok: false, reason: reason() };
}

function shardsReason(atRest: number, room: number, sessions: number, headroom: number): string {
  if (atRest + room > headroom) return `one room's lines need ${pct(atRest + room)} of a shard's core: more than ${pct(headroom)}`;
  if (atRest + sessions > headroom)
    return `the sessions slot needs ${pct(atRest + sessions)} of its shard's core: more than ${pct(headroom)}`;
  return `the sessions slot's shard with one room needs ${pct(atRest + room + sessions)} of a core: more than ${pct(headroom)}`;
}

const pct = (share: number) => `${Math.round(share * 100)} %`;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A costs file found wrong: names the field. */
export class CostsError extends Error {
  override readonly name = 'CostsError';
}

const GATEWAY_FIELDS = [
  'cpuAtRestCores',
  'memoryAtRestBytes',
  'cpuPerConnectionAtRestUsPerS',
  'memoryPerConnectionBytes',
  'cpuPerJoinUs',
  'cpuPerLinePublishedUs',
  'cpuPerLineHeardUs',
  'cpuPerDeliveryUs',
] as const satisfies ReadonlyArray<keyof GatewayCosts>;
const SHARD_FIELDS = [
  'cpuAtRestCores',
  'cpuPerLineUs',
  'cpuPerLineSubscriberUs',
  'cpuPerJoinSessionsUs',
  'cpuPerJoinRoomsUs',
  'cpuPerConnectionAtRestUsPerS',
  'memoryPerSessionBytes',
  'memoryPerHistoryLineBytes',
] as const satisfies ReadonlyArray<keyof ShardCosts>;

/** A parsed costs file, checked: every cost a number of at least 0 (the per-line and per-join ones above 0). */
export function readCosts(json: unknown): MeasuredCosts {
  const root = object(json, 'the file');
  const gateway = numbers(object(root.gateway, 'gateway'), 'gateway', GATEWAY_FIELDS);
  const redisShard = numbers(object(root.redisShard, 'redisShard'), 'redisShard', SHARD_FIELDS);
  for (const [where, value] of [
    ['redisShard.cpuPerLineUs', redisShard.cpuPerLineUs],
    ['redisShard.cpuPerJoinSessionsUs', redisShard.cpuPerJoinSessionsUs],
  ] as const)
    if (value <= 0) throw new CostsError(`${where} must be above 0 (a ceiling divides by it)`);
  const m = object(root.measured, 'measured');
  const measured: Provenance = {
    at: textOf(m.at),
    commit: textOf(m.commit),
    command: textOf(m.command),
    machine: textOf(m.machine),
    lineBytes: typeof m.lineBytes === 'number' ? m.lineBytes : 0,
    notes: Array.isArray(m.notes) ? m.notes.map(textOf) : [],
  };
  return { measured, gateway, redisShard };
}

/** A string of the provenance, or '' for anything else. */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CostsError(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function numbers<K extends string>(o: Record<string, unknown>, where: string, fields: readonly K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const field of fields) {
    const value = o[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      throw new CostsError(`${where}.${field} must be a number of at least 0 (got ${JSON.stringify(value)})`);
    out[field] = value;
  }
  return out;
}

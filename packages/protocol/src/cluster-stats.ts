import type { NodeId } from './ids.js';

/** What carries a node's events: in-process (one node), one Redis, a Redis Cluster, or one Redis whose master Sentinel names. */
export const BUS_KINDS = ['memory', 'redis', 'redis-cluster', 'redis-sentinel'] as const;
export type BusKind = (typeof BUS_KINDS)[number];

/**
 * What the metrics port says about the cluster (`/cluster.json`, `/events`):
 * one small record per node, sampled every second. Each node publishes its own
 * (over Redis, with a TTL, so any node shows all); the dashboard page and
 * `switchboard status` read the same JSON.
 */
export interface NodeStats {
  readonly node: NodeId;
  /** When this record was sampled, ms since the Unix epoch. */
  readonly at: number;
  /** When the node started, ms since the Unix epoch. */
  readonly startedAt: number;
  readonly bus: BusKind;
  /** Whether the node takes new clients (its /readyz), and if not, why. */
  readonly ready: boolean;
  readonly reason?: string;
  /** WebSocket connections open now, all and protocol v2 only. */
  readonly connections: number;
  readonly connectionsV2: number;
  /** Chat lines this node's clients published, per second over the last sample. */
  readonly linesPerSec: number;
  /** Broadcast events handed to this node's sockets, per second. */
  readonly deliveriesPerSec: number;
  /** Bytes of those events, per second. */
  readonly bytesPerSec: number;
  /** Upgrades and client frames refused, per second. */
  readonly refusalsPerSec: number;
  /** 99th percentile of the bus-to-socket latency over the last sample, ms; null when nothing was delivered. */
  readonly latencyP99Ms: number | null;
  /** 99th percentile of the event loop's lag over the last sample, ms. */
  readonly eventLoopLagMs: number;
  /** Resident memory of the process, bytes. */
  readonly rssBytes: number;
}

/** The numeric fields of a NodeStats that the dashboard plots over time. */
export const PLOTTED_FIELDS = [
  'connections',
  'linesPerSec',
  'deliveriesPerSec',
  'latencyP99Ms',
  'eventLoopLagMs',
  'refusalsPerSec',
] as const satisfies ReadonlyArray<keyof NodeStats>;
export type PlottedField = (typeof PLOTTED_FIELDS)[number];

/** Every node's latest record, as one node sees them. */
export interface ClusterSnapshot {
  /** When it was taken, ms since the Unix epoch. */
  readonly at: number;
  /** The node that answered. */
  readonly servedBy: NodeId;
  /** One record per live node, by node id. */
  readonly nodes: readonly NodeStats[];
}

/**
 * The last minutes as the answering node saw them, column by column: `times`
 * (ms since the Unix epoch, one a second), and for each node and plotted field
 * one value per time (null where the node had no record then).
 */
export interface ClusterHistory {
  readonly times: readonly number[];
  readonly nodes: Readonly<Record<NodeId, Readonly<Record<PlottedField, ReadonlyArray<number | null>>>>>;
}

/** `/cluster.json?history`: the snapshot, with the history. */
export interface ClusterReport extends ClusterSnapshot {
  readonly history?: ClusterHistory;
}

/** Whether `value` is a NodeStats (records read from Redis are checked before use). */
export function isNodeStats(value: unknown): value is NodeStats {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const numbers = [
    'at',
    'startedAt',
    'connections',
    'connectionsV2',
    'linesPerSec',
    'deliveriesPerSec',
    'bytesPerSec',
    'refusalsPerSec',
    'eventLoopLagMs',
    'rssBytes',
  ];
  return (
    typeof v.node === 'string' &&
    v.node.length > 0 &&
    (BUS_KINDS as readonly unknown[]).includes(v.bus) &&
    typeof v.ready === 'boolean' &&
    (v.reason === undefined || typeof v.reason === 'string') &&
    (v.latencyP99Ms === null || isFiniteNumber(v.latencyP99Ms)) &&
    numbers.every((key) => isFiniteNumber(v[key]))
  );
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** A rate as the dashboard and `switchboard status` print it: one decimal below 100. */
export function formatRate(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

/** How long a node has been up, as `42s`, `12m`, `3h 20m` or `2d 4h`. */
export function formatUptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

import { isNodeStats, type NodeId, type NodeStats } from '@switchboard/protocol';
import type { Logger } from '../logger.js';
import { createRedis, type RedisClient, type RedisTarget } from '../redis/client.js';
import { RedisKeys } from '../redis/keys.js';
import { MAX_NODES, type StatsStore } from './stats-store.js';

/** How long a node's record outlives its last renewal, in ms: a node that stops writing leaves the view after this. */
export const STATS_TTL_MS = 5_000;
/** How long a node stays in the index after its last write, in ms (generous: only the record's TTL says it is live). */
const INDEX_TTL_MS = 60_000;

export interface RedisStatsStoreOptions {
  readonly target: RedisTarget;
  readonly prefix: string;
  readonly nodeId: NodeId;
  readonly logger: Logger;
}

/**
 * Stats records over Redis: one key per node (`<p>:stats:<node>`, JSON, expiring
 * after STATS_TTL_MS unless renewed) and a small index of the nodes that wrote
 * lately (`<p>:stats-nodes`, pruned on every exchange), so reading them all is
 * one MGET of at most MAX_NODES keys, never a scan. A connection of its own:
 * the dashboard never delays the bus. While Redis is away a node sees itself.
 */
export class RedisStatsStore implements StatsStore {
  private readonly keys: RedisKeys;
  private readonly redis: RedisClient;

  constructor(private readonly options: RedisStatsStoreOptions) {
    this.keys = new RedisKeys(options.prefix);
    this.redis = createRedis(options.target, `${options.nodeId}:stats`, options.logger.child({ module: 'stats' }));
    this.redis.connect().catch(() => undefined); // it keeps retrying by itself
  }

  async exchange(own: NodeStats): Promise<NodeStats[]> {
    if (this.redis.status !== 'ready') return [own];
    const { keys } = this;
    try {
      const replies = await this.redis
        .multi()
        .set(keys.stats(own.node), JSON.stringify(own), 'PX', STATS_TTL_MS)
        .zadd(keys.statsIndex, own.at, own.node)
        .zremrangebyscore(keys.statsIndex, '-inf', own.at - INDEX_TTL_MS)
        .zrange(keys.statsIndex, 0, MAX_NODES - 1)
        .exec();
      const nodes = (replies?.[3]?.[1] ?? []) as string[];
      const records = nodes.length === 0 ? [] : await this.redis.mget(nodes.map((node) => keys.stats(node)));
      const live = new Map<NodeId, NodeStats>([[own.node, own]]);
      for (const text of records) {
        const record = parse(text);
        if (record && record.node !== own.node) live.set(record.node, record);
      }
      return [...live.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    } catch {
      return [own];
    }
  }

  async close(): Promise<void> {
    const node = this.options.nodeId;
    if (this.redis.status === 'ready') {
      await this.redis
        .multi()
        .del(this.keys.stats(node))
        .zrem(this.keys.statsIndex, node)
        .exec()
        .catch(() => undefined);
    }
    await this.redis.quit().catch(() => undefined);
    this.redis.disconnect();
  }
}

function parse(text: string | null): NodeStats | undefined {
  if (text === null) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isNodeStats(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

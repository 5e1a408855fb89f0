import { Cluster } from 'ioredis';
import type { NodeId } from '@switchboard/protocol';
import { masterOfSlot } from '../platform/ioredis-topology.js';
import type { RedisClient } from '../redis/client.js';
import { keySlot, SLOT_COUNT } from '../redis/key-slot.js';
import type { RedisKeys } from '../redis/keys.js';
import type { ProbeTarget } from './shard-watchdog.js';

/** The most probe channel numbers tried to find one in a shard's slots (a shard owning one slot needs about 16384). */
const PROBE_SEARCH_LIMIT = 1_000_000;

/**
 * The shards of the bus's Redis as its command connection sees them now, named
 * as /readyz and the metrics name them: a Redis Cluster's masters (`host:port`,
 * each with the slots it owns), or the one Redis (its address; with Sentinel,
 * the name of its master group). For the watchdog, each shard gets a probe
 * channel of this node's whose slot it owns: the first `{P:probe:<node>:<n>}`
 * that lands there (CRC16 computed here), kept while the shard still owns it.
 */
export class ShardMap {
  /** Each master's probe channel (`host:port` -> channel). */
  private readonly probes = new Map<string, string>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly nodeId: NodeId,
  ) {}

  /** The shard that holds `channel` now, if known. */
  shardOf(channel: string): string | undefined {
    if (this.redis instanceof Cluster) return masterOfSlot(this.redis, keySlot(channel));
    const { host, port, sentinels, name } = this.redis.options;
    return sentinels && sentinels.length > 0 ? `sentinel:${name}` : `${host}:${port}`;
  }

  /** Every shard there is now, each with this node's probe channel on it. */
  probeTargets(): ProbeTarget[] {
    const redis = this.redis;
    if (!(redis instanceof Cluster)) return [{ shard: this.shardOf('')!, channel: this.keys.shardProbe(this.nodeId, 0) }];
    const masters = new Set<string>();
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      const master = masterOfSlot(redis, slot);
      if (master !== undefined) masters.add(master);
    }
    for (const [master, channel] of this.probes) {
      if (!masters.has(master) || masterOfSlot(redis, keySlot(channel)) !== master) this.probes.delete(master);
    }
    for (let n = 0; n < PROBE_SEARCH_LIMIT && this.probes.size < masters.size; n++) {
      const channel = this.keys.shardProbe(this.nodeId, n);
      const master = masterOfSlot(redis, keySlot(channel));
      if (master !== undefined && masters.has(master) && !this.probes.has(master)) this.probes.set(master, channel);
    }
    return [...this.probes].map(([shard, channel]) => ({ shard, channel }));
  }
}

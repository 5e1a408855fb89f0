import { Cluster } from 'ioredis';
import { withTimeout } from '../async/with-timeout.js';
import type { Logger } from '../logger.js';
import type { RedisClient } from './client.js';
import { SLOT_COUNT, keySlot } from './key-slot.js';

/** How many replicas a write must reach before it is acknowledged: `auto`, or exactly that many. */
export type MinReplicasAck = 'auto' | number;

export interface ReplicaCountsOptions {
  /** REDIS_MIN_REPLICAS_ACK: `auto` waits for 1 replica on a shard that has (or lately had) one, for none on a shard without. */
  readonly minReplicasAck: MinReplicasAck;
  /** REPLICA_FORGET_MS: how long a server that had a replica is still taken to have one after it went, in ms. */
  readonly replicaForgetMs: number;
  /** How often the replicas are counted again, in ms. */
  readonly checkIntervalMs: number;
  readonly logger: Logger;
  /** Called after the first count (what waits on counted()). */
  readonly onCounted?: () => void;
  /** The clock; Date.now by default. */
  readonly now?: () => number;
}

/** One master as last counted: its identity (run_id, or its cluster node id) and its replicas. */
interface Master {
  readonly id: string;
  readonly replicas: number;
}

/** A Redis Cluster's slot ranges, each with its master. */
interface SlotRange {
  readonly from: number;
  readonly to: number;
  readonly master: Master;
}

/**
 * How many replicas a write to each shard must reach (WAIT) before it is
 * acknowledged: Redis replicates asynchronously, so a write its master has not
 * yet passed on is lost when a replica is promoted. Counted on a schedule: on
 * one Redis from `ROLE` (its connected replicas) and `INFO server` (its
 * run_id); on a Redis Cluster from `CLUSTER SLOTS` (each slot range's master
 * node id and the replicas it lists, failed ones left out).
 *
 * A server that was seen with a replica (as a master it was at the count before
 * too) is taken to have one for REPLICA_FORGET_MS more (per run_id or node id): a replica that just dropped
 * (or froze) does not silently lower the bar; writes are refused meanwhile,
 * and after it they are acknowledged with none. A promoted replica is a new
 * server: it starts with what it has.
 *
 * Until the first count a shard would be taken to have none in `auto`: the bus
 * says it is not ready until then (counted()). While counting fails, the last
 * count stands.
 */
export class ReplicaCounts {
  private single: Master | undefined;
  private everCounted = false;
  private ranges: readonly SlotRange[] = [];
  /** When each server (run_id or node id) was last seen with at least one replica. */
  private readonly lastSeen = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** The count under way, if any. */
  private counting: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: ReplicaCountsOptions,
  ) {
    this.log = options.logger.child({ module: 'replica-counts' });
    this.now = options.now ?? Date.now;
  }

  /** Count now and on a schedule (not if REDIS_MIN_REPLICAS_ACK is a number: nothing to count). */
  start(): void {
    if (this.options.minReplicasAck !== 'auto') return;
    this.redis.on('ready', () => void this.refresh());
    this.timer = setInterval(() => void this.refresh(), this.options.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** How many replicas a write of `key` must reach before it is acknowledged (0: acknowledge at once). */
  needed(key: string): number {
    const { minReplicasAck } = this.options;
    if (minReplicasAck !== 'auto') return minReplicasAck;
    const master = this.redis instanceof Cluster ? this.masterOf(keySlot(key)) : this.single;
    if (!master) return 0;
    if (master.replicas > 0) return 1;
    const seen = this.lastSeen.get(master.id);
    return seen !== undefined && this.now() - seen < this.options.replicaForgetMs ? 1 : 0;
  }

  /** Whether the replicas were counted at least once (always, when REDIS_MIN_REPLICAS_ACK is a number). */
  counted(): boolean {
    return this.everCounted || this.options.minReplicasAck !== 'auto';
  }

  /** Which shard holds `key`: its master's identity ('' until counted). */
  shardOf(key: string): string {
    const master = this.redis instanceof Cluster ? this.masterOf(keySlot(key)) : this.single;
    return master?.id ?? '';
  }

  /**
   * Count again now; resolves when done (a failure is logged and leaves the last
   * count). One count at a time, and one that gets no answer within two check
   * intervals (a command queued to a server that died) is given up: the next
   * check asks again.
   */
  refresh(): Promise<void> {
    this.counting ??= this.count().finally(() => (this.counting = undefined));
    return this.counting;
  }

  private async count(): Promise<void> {
    const before = this.masters();
    const rangesBefore = this.ranges;
    try {
      const answer: Promise<{ ranges: SlotRange[] } | { single: Master }> =
        this.redis instanceof Cluster
          ? this.redis.cluster('SLOTS').then((reply) => ({ ranges: slotRanges(reply) }))
          : singleMaster(this.redis).then((single) => ({ single }));
      const counted = await withTimeout(answer, 2 * this.options.checkIntervalMs, 'no answer in time');
      if ('ranges' in counted) this.ranges = counted.ranges;
      else this.single = counted.single;
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'replicas not counted');
      return;
    }
    for (const range of this.ranges) {
      const was = rangesBefore.find((r) => r.from === range.from);
      if (this.everCounted && (was?.master.id !== range.master.id || was.to !== range.to))
        this.log.info(
          { from: range.from, to: range.to, master: range.master.id, replicas: range.master.replicas },
          'slots counted under another master',
        );
    }
    const now = this.now();
    const masters = this.masters();
    for (const master of masters) {
      const was = before.find((m) => m.id === master.id);
      // Remembered if it was a master at the count before too (or this is the first count): a replica just
      // promoted can be listed for a moment, by a server that has not yet marked it failed, with its dead
      // master as its replica; its first count as a master is taken at its word, not remembered.
      if (master.replicas > 0 && (was !== undefined || !this.everCounted)) this.lastSeen.set(master.id, now);
      if (was?.replicas !== master.replicas && this.everCounted)
        this.log.info({ master: master.id, replicas: master.replicas }, 'replicas counted');
      else if (!was && master.replicas > 0) this.log.info({ master: master.id, replicas: master.replicas }, 'writes wait for a replica');
    }
    for (const [id, at] of this.lastSeen) if (now - at >= this.options.replicaForgetMs) this.lastSeen.delete(id);
    if (!this.everCounted) {
      this.everCounted = true;
      this.options.onCounted?.();
    }
  }

  /** The masters as last counted. */
  private masters(): Master[] {
    return this.single ? [this.single] : this.ranges.map((r) => r.master);
  }

  private masterOf(slot: number): Master | undefined {
    for (const range of this.ranges) if (slot >= range.from && slot <= range.to) return range.master;
    return undefined;
  }
}

/** One Redis: its run_id and how many replicas it has now (0 if it is a replica itself). */
async function singleMaster(redis: Exclude<RedisClient, Cluster>): Promise<Master> {
  const [role, info] = await Promise.all([redis.call('ROLE') as Promise<unknown[]>, redis.info('server')]);
  const id = /^run_id:(\w+)/m.exec(info)?.[1] ?? 'unknown';
  const replicas = role[0] === 'master' && Array.isArray(role[2]) ? role[2].length : 0;
  return { id, replicas };
}

/** CLUSTER SLOTS: [[from, to, [host, port, id], replicas...], ...] as slot ranges. */
function slotRanges(reply: unknown): SlotRange[] {
  const ranges: SlotRange[] = [];
  for (const entry of reply as unknown[][]) {
    const [from, to, master, ...replicas] = entry as [number, number, Array<string | number>, ...unknown[]];
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to >= SLOT_COUNT) continue;
    ranges.push({ from, to, master: { id: String(master[2] ?? `${master[0]}:${master[1]}`), replicas: replicas.length } });
  }
  return ranges;
}

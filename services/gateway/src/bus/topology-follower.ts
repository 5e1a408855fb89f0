import { Cluster } from 'ioredis';
import type { Logger } from '../logger.js';
import { masterOfSlot, onTopologyRefreshed, refreshTopology } from '../platform/ioredis-topology.js';
import type { RedisClient } from '../redis/client.js';
import { keySlot } from '../redis/key-slot.js';

/** Replies by which Redis Cluster says the topology is not what the client thought (or is changing). */
const TOPOLOGY_ERROR = /^(MOVED|ASK|READONLY|TRYAGAIN|CLUSTERDOWN)\b/;

export interface TopologyFollowerOptions {
  /** How often the subscriber reads the cluster's slots again, in ms (TOPOLOGY_REFRESH_INTERVAL_MS). */
  readonly intervalMs: number;
  /** The channels the subscriber should listen to now (the rooms', the probes'). */
  channels(): Iterable<string>;
  /** Subscribe `channels` again, on the masters that own them now, then catch their rooms up from their history. */
  resubscribe(channels: readonly string[], reason: string): Promise<void>;
  readonly log: Logger;
}

/**
 * Makes a Redis Cluster's subscriber connection follow the cluster's topology.
 * ioredis moves a connection's sharded subscribers to new masters only when
 * that connection itself reads the slots again, which it does on a MOVED reply,
 * a lost node or a reconnect: a graceful failover (`CLUSTER FAILOVER`) causes
 * none of them on the subscriber (the demoted master drops the subscriptions and
 * ioredis swallows the server's SUNSUBSCRIBE), so its rooms would go silent for
 * good. Here the subscriber reads the slots again every `intervalMs`, whenever
 * the publisher connection has (after its MOVED replies), and whenever the bus
 * meets a reply that says the topology changed (noticeError); each room whose
 * slot now has another master is subscribed again there and caught up.
 * Nothing for a single Redis.
 */
export class TopologyFollower {
  private timer: NodeJS.Timeout | undefined;
  private stopWatch: (() => void) | undefined;
  /** The refresh running now, and whether another was asked for meanwhile. */
  private running: Promise<void> | undefined;
  private again: string | undefined;

  constructor(
    private readonly pub: RedisClient,
    private readonly sub: RedisClient,
    private readonly options: TopologyFollowerOptions,
  ) {}

  start(): void {
    if (!(this.sub instanceof Cluster) || !(this.pub instanceof Cluster)) return;
    this.stopWatch = onTopologyRefreshed(this.pub, () => void this.refresh('the publisher read the slots again'));
    this.timer = setInterval(() => void this.refresh('schedule'), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.stopWatch?.();
  }

  /** A command of the bus failed with `err`: if Redis said the topology changed, follow it now. */
  noticeError(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (TOPOLOGY_ERROR.test(message)) void this.refresh(`redis replied ${message.split(' ')[0]}`);
  }

  /**
   * Read the slots again; subscribe again every channel whose master changed.
   * One at a time: asked for while one runs, it runs once more after.
   */
  refresh(reason: string): Promise<void> {
    if (!(this.sub instanceof Cluster)) return Promise.resolve();
    if (this.running) {
      this.again = reason;
      return this.running;
    }
    this.running = this.follow(this.sub, reason).finally(() => {
      this.running = undefined;
      const next = this.again;
      this.again = undefined;
      if (next !== undefined) void this.refresh(next);
    });
    return this.running;
  }

  private async follow(sub: Cluster, reason: string): Promise<void> {
    const before = new Map<string, string | undefined>();
    for (const channel of this.options.channels()) before.set(channel, masterOfSlot(sub, keySlot(channel)));
    if (!(await refreshTopology(sub))) return;
    const moved: string[] = [];
    const masters = new Set<string>();
    for (const [channel, was] of before) {
      const now = masterOfSlot(sub, keySlot(channel));
      if (now === undefined || now === was) continue;
      moved.push(channel);
      masters.add(now);
    }
    if (moved.length === 0) return;
    this.options.log.info(
      { reason, channels: moved.length, masters: [...masters] },
      'topology changed: subscribing again on the new masters, then catching up',
    );
    await this.options.resubscribe(moved, reason);
  }
}

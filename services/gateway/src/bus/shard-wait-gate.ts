/** What became of a shard once a publish's WAIT ended, when it changed: for a log line. */
export type ShardWaitNews = 'fell short' | 'caught up' | undefined;

/**
 * Which shards' publishes may wait for their replicas now. WAIT holds the
 * connection it runs on until the replicas answer or its timeout passes, so
 * publishes behind it queue; once a shard's WAIT fell short (its replica is
 * frozen, lagging or gone), one publish at a time waits on it and the others
 * are refused at once, until one gets its replicas again.
 */
export class ShardWaitGate {
  /** Shards whose last WAIT fell short, and whether a publish waits on one now. */
  private readonly short = new Map<string, boolean>();

  /** Whether a publish to `shard` may wait now (false: refuse it at once); on a short shard, it is the one that waits. */
  enter(shard: string): boolean {
    const waiting = this.short.get(shard);
    if (waiting === true) return false;
    if (waiting === false) this.short.set(shard, true);
    return true;
  }

  /** A publish that entered is done waiting: it had `enough` replicas, or not (or failed). */
  leave(shard: string, enough: boolean): ShardWaitNews {
    const wasShort = this.short.has(shard);
    if (!enough) {
      this.short.set(shard, false);
      return wasShort ? undefined : 'fell short';
    }
    if (wasShort) this.short.delete(shard);
    return wasShort ? 'caught up' : undefined;
  }
}

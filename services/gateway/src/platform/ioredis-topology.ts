import { Cluster, Redis } from 'ioredis';
import { ruledOut, usable, type Capability } from './capability.js';
import { groupOf } from './ioredis-cluster.js';

/**
 * How the gateway makes a Redis Cluster connection follow the cluster's topology
 * (slot moves, failovers), beyond ioredis's documented API:
 *
 * - `refreshSlotsCache()` (marked `@ignore` in its typings) reads the slots
 *   again (CLUSTER SLOTS) and, on a connection with sharded subscribers, moves
 *   each subscriber to the master that now owns its slots; its undocumented
 *   `refresh` event says a connection did that by itself (after a MOVED reply);
 * - a shard's private subscriber (ClusterSubscriberGroup) can be closed alone:
 *   ioredis makes a new one for that master and subscribes it again.
 *
 * Without them: nothing is refreshed on a schedule or after the publisher's
 * refreshes (only the documented `+node`/`-node` are heard), and a mend
 * reconnects the whole subscriber connection (disconnect(true)): every room then
 * subscribes again and catches up, as after any reconnect.
 */

/** What the probe finds: refreshSlotsCache answers its callback, and the Cluster keeps its slots table. */
function probeRefresh(): boolean {
  const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
  try {
    if (typeof cluster.refreshSlotsCache !== 'function' || !Array.isArray(cluster.slots)) return false;
    let answered = false;
    // With no node in its pool, the refresh fails at once: the callback proves the shape.
    cluster.refreshSlotsCache((err) => (answered = err instanceof Error));
    return answered;
  } finally {
    cluster.disconnect();
  }
}

let chosen: boolean | undefined;
function usesRefresh(): boolean {
  chosen ??= ruledOut('ioredis_topology_refresh') ? false : usable('ioredis_topology_refresh', probeRefresh);
  return chosen;
}

/**
 * Read the cluster's slots again now, moving the sharded subscribers to the
 * masters that own their slots. Resolves true once done, false if it failed or
 * if the internal is not used (then nothing was done).
 */
export function refreshTopology(cluster: Cluster, internals = usesRefresh()): Promise<boolean> {
  if (!internals) return Promise.resolve(false);
  return new Promise((resolve) => cluster.refreshSlotsCache((err) => resolve(!err)));
}

/**
 * Call `listener` whenever `cluster` has read its slots again by itself (after
 * a MOVED reply, a lost node, a reconnect) or its set of nodes changed. Returns
 * what stops it. `internals: false` hears only the documented node events.
 */
export function onTopologyRefreshed(cluster: Cluster, listener: () => void, internals = usesRefresh()): () => void {
  const events = internals ? ['refresh', '+node', '-node'] : ['+node', '-node'];
  for (const event of events) cluster.on(event, listener);
  return () => {
    for (const event of events) cluster.off(event, listener);
  };
}

/** The master (`host:port`) that `cluster` sends `slot`'s commands to now, if it knows one. */
export function masterOfSlot(cluster: Cluster, slot: number): string | undefined {
  return (cluster.slots as Array<string[] | undefined>)[slot]?.[0];
}

/**
 * Make the subscriber of `cluster` that listens to `master` start over: a new
 * connection, subscribed again to its channels (the rooms then catch up from
 * their history). With the internal, only that shard's subscriber is closed
 * (ioredis replaces it; if it has none, ioredis is already making one, and
 * nothing is done); without, the whole connection reconnects. A single Redis
 * reconnects.
 */
export function restartSubscriber(redis: Redis | Cluster, master: string, internals = usesRefresh()): void {
  if (redis instanceof Cluster && internals) {
    // No subscriber for that master (it could not connect): ioredis is making one; the others are left alone.
    groupOf(redis)?.shardedSubscribers?.get(master)?.getInstance?.()?.disconnect();
    return;
  }
  redis.disconnect(true);
}

export const IOREDIS_TOPOLOGY_REFRESH: Capability = {
  name: 'ioredis_topology_refresh',
  internal:
    "a Cluster's refreshSlotsCache() (@ignore'd), its 'refresh' event and a shard's private subscriber: the subscriber follows failovers and slot moves on a schedule and after the publisher's refreshes; a mend restarts one shard's subscriber",
  fallback: 'the subscriber follows the topology only when it reconnects; a mend reconnects the whole subscriber connection',
  inUse: usesRefresh,
};

import type { Socket } from 'node:net';
import { Cluster, Redis, type ClusterOptions } from 'ioredis';
import { usable, type Capability, type CapabilityName } from './capability.js';

/**
 * What the gateway uses of ioredis's Redis Cluster beyond its documented API,
 * each with a fallback of public means:
 *
 * - the sharded subscribers (one connection per master, `ClusterSubscriberGroup`),
 *   which the Cluster keeps private: their sockets are paused between flushes
 *   like the others; without them, only the sockets ioredis exposes are;
 * - its undocumented `+subscriber` and `subscribersReady` events: a shard's
 *   subscriber came (back) and subscribed again, so events of its rooms may
 *   have been missed meanwhile; without them, every room catches up from its
 *   history every SUBSCRIBER_RESYNC_INTERVAL_MS;
 * - the names it gives the connections it opens itself,
 *   `ioredis-cluster(<component>):<our name>`; without that prefix, only
 *   connections named as we name them are recognised.
 *
 * All three are probed once, at the first use, on a Cluster object that never
 * connects: its subscriber group is reset to a one-master topology of its own.
 */

/** The Cluster option that gives a connection one subscriber per master, for SSUBSCRIBE (documented, but it names the private group too). */
export function shardedSubscriberOption(enabled: boolean): Pick<ClusterOptions, 'shardedSubscribers'> {
  return { shardedSubscribers: enabled };
}

/** One sharded subscriber, as ioredis keeps it (ShardedSubscriber). */
interface ShardedSubscriber {
  getInstance?(): Redis | null | undefined;
}

/** The subscriber group of a Cluster made with shardedSubscriberOption(true) (ClusterSubscriberGroup). */
interface SubscriberGroup {
  readonly shardedSubscribers?: ReadonlyMap<string, ShardedSubscriber>;
  reset?(slots: string[][], nodes: Redis[]): Promise<void>;
  stop?(): void;
}

function groupOf(cluster: Cluster): SubscriberGroup | undefined {
  return (cluster as unknown as { shardedSubscribers?: SubscriberGroup }).shardedSubscribers;
}

/** The events a Cluster emits when a shard's subscriber came (back), then when the group has subscribed again. */
const SUBSCRIBER_CAME = '+subscriber';
const SUBSCRIBERS_READY = 'subscribersReady';

/** The prefix ioredis gives the Cluster connections it opens itself, before our own name. */
const IOREDIS_PREFIX = /^ioredis-cluster\([^)]*\):/;

/** A port nothing listens on: the probe's Cluster never connects (lazyConnect) but needs a node. */
const PROBE_NODE = { host: '127.0.0.1', port: 1 };
const PROBE_NAME = 'probe-node:probe-role';

interface ClusterProbe {
  readonly shardSockets: boolean;
  readonly subscriberEvents: boolean;
  readonly connectionNames: boolean;
}

/**
 * What the installed ioredis offers: a Cluster with sharded subscribers is made
 * (it never connects) and its group reset to one master. Its new subscriber
 * should be a Redis connection in the group's map (its socket will be its
 * `stream`), the Cluster should say `+subscriber` as it is made, and the
 * subscriber should be named `ioredis-cluster(ssubscriber):<our name>`.
 */
function probeCluster(): ClusterProbe {
  const none: ClusterProbe = { shardSockets: false, subscriberEvents: false, connectionNames: false };
  const cluster = new Cluster([PROBE_NODE], {
    lazyConnect: true,
    ...shardedSubscriberOption(true),
    redisOptions: { lazyConnect: true, connectionName: PROBE_NAME },
  });
  // As the Cluster's own connection to a master is: it carries our name, which the subscriber's is made from.
  const node = new Redis({ ...PROBE_NODE, lazyConnect: true, connectionName: PROBE_NAME });
  let came = false;
  cluster.on(SUBSCRIBER_CAME, () => (came = true));
  const group = groupOf(cluster);
  try {
    const subscribers = group?.shardedSubscribers;
    if (typeof subscribers?.values !== 'function' || typeof group?.reset !== 'function') return none;
    // The group makes the subscriber (and says so) before its first await; the rest of reset() has nothing to connect.
    group.reset([[`${PROBE_NODE.host}:${PROBE_NODE.port}`]], [node]).catch(() => undefined);
    const [subscriber] = subscribers.values();
    const instance = subscriber?.getInstance?.();
    const name = instance?.options.connectionName ?? '';
    return {
      shardSockets: instance instanceof Redis,
      subscriberEvents: came,
      connectionNames: IOREDIS_PREFIX.test(name) && name.replace(IOREDIS_PREFIX, '') === PROBE_NAME,
    };
  } catch {
    return none;
  } finally {
    group?.stop?.();
    node.disconnect();
    cluster.disconnect();
  }
}

let probed: ClusterProbe | undefined;
const chosen = new Map<CapabilityName, boolean>();

/** Whether capability `name` of ioredis is used: chosen at the first call (the probe runs once for all three). */
function uses(name: CapabilityName, key: keyof ClusterProbe): boolean {
  let use = chosen.get(name);
  if (use === undefined) {
    use = usable(name, () => (probed ??= probeCluster())[key]);
    chosen.set(name, use);
  }
  return use;
}

/**
 * The TCP sockets a connection reads from now: the one, or each node's, a
 * Cluster's sharded subscribers included. `internals: false` takes the fallback:
 * the sharded subscribers' sockets are left out (they are not exposed).
 */
export function socketsOf(redis: Redis | Cluster, internals = uses('ioredis_shard_sockets', 'shardSockets')): Array<Socket | undefined> {
  if (!(redis instanceof Cluster)) return [redis.stream];
  const sockets = redis.nodes('all').map((node) => node.stream as Socket | undefined);
  if (!internals) return sockets;
  for (const subscriber of groupOf(redis)?.shardedSubscribers?.values() ?? []) sockets.push(subscriber.getInstance?.()?.stream);
  return sockets;
}

/**
 * How often every room catches up from its history when the Cluster does not say
 * that a shard's subscriber came back, in ms: the longest a line published while
 * a subscriber was away waits (when no later line of its room shows the gap first).
 */
export const SUBSCRIBER_RESYNC_INTERVAL_MS = 2_000;

/**
 * Call `listener` whenever a shard's subscriber of this connection may have
 * missed events: it came (back) (`+subscriber`), then subscribed again
 * (`subscribersReady`, the precise moment: nothing published after it is
 * missed). Without those events (`internals: false`), every
 * SUBSCRIBER_RESYNC_INTERVAL_MS. A single Redis says `ready` instead, which its
 * user watches: nothing is done for one. Returns what stops it.
 */
export function onShardSubscriberBack(
  redis: Redis | Cluster,
  listener: () => void,
  internals = uses('ioredis_subscriber_events', 'subscriberEvents'),
): () => void {
  if (!(redis instanceof Cluster)) return () => undefined;
  if (internals) {
    redis.on(SUBSCRIBER_CAME, listener);
    redis.on(SUBSCRIBERS_READY, listener);
    return () => {
      redis.off(SUBSCRIBER_CAME, listener);
      redis.off(SUBSCRIBERS_READY, listener);
    };
  }
  const timer = setInterval(listener, SUBSCRIBER_RESYNC_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The name we gave a connection, from the name Redis lists it under (CLIENT
 * LIST): a connection ioredis opens itself for a Cluster (a sharded subscriber)
 * is listed as `ioredis-cluster(<component>):<our name>`. `internals: false`
 * takes the fallback: names are taken as they are, so only the connections
 * listed under our name alone are recognised (the Cluster's command connections).
 */
export function ownConnectionName(listed: string, internals = uses('ioredis_connection_names', 'connectionNames')): string {
  return internals ? listed.replace(IOREDIS_PREFIX, '') : listed;
}

export const IOREDIS_SHARD_SOCKETS: Capability = {
  name: 'ioredis_shard_sockets',
  internal: "a Cluster's private sharded subscribers (ClusterSubscriberGroup): their sockets are paused between flushes too",
  fallback: "only the sockets ioredis exposes (each node's stream) are paused; the sharded subscribers' are read as bytes come",
  inUse: () => uses('ioredis_shard_sockets', 'shardSockets'),
};

export const IOREDIS_SUBSCRIBER_EVENTS: Capability = {
  name: 'ioredis_subscriber_events',
  internal:
    "a Cluster's undocumented '+subscriber' and 'subscribersReady' events: a shard's subscriber came back, so every room catches up",
  fallback: `every room catches up from its history every ${SUBSCRIBER_RESYNC_INTERVAL_MS} ms on a Redis Cluster`,
  inUse: () => uses('ioredis_subscriber_events', 'subscriberEvents'),
};

export const IOREDIS_CONNECTION_NAMES: Capability = {
  name: 'ioredis_connection_names',
  internal:
    "the ioredis-cluster(<component>): prefix of the connections ioredis opens itself: a node's sharded subscribers count as its connections",
  fallback: 'only connections listed under our own names count (a node is judged by its command connections)',
  inUse: () => uses('ioredis_connection_names', 'connectionNames'),
};

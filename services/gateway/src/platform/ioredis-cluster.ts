import type { Socket } from 'node:net';
import { Cluster, Redis, type ClusterOptions } from 'ioredis';
import { ruledOut, usable, type Capability, type CapabilityName } from './capability.js';

/**
 * What the gateway uses of ioredis's Redis Cluster beyond its documented API,
 * each with a fallback of public means:
 *
 * - the sharded subscribers (one connection per master, `ClusterSubscriberGroup`),
 *   which the Cluster keeps private: their sockets are paused between flushes
 *   like the others; without them, only the sockets ioredis exposes are;
 * - its undocumented subscriber events: `+subscriber` as it makes a shard's
 *   subscriber (again), `subscribersReady` once the group has connected them and
 *   subscribed them again. Events published while a shard's subscriber was away
 *   reach the node only from the rooms' history; without those events, every
 *   room catches up from its history every SUBSCRIBER_RESYNC_INTERVAL_MS;
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

/** One sharded subscriber, as ioredis keeps it (ShardedSubscriber): a Redis connection of its own. */
interface ShardedSubscriber {
  getInstance?(): Redis | null | undefined;
}

/** The subscriber group of a Cluster made with shardedSubscriberOption(true) (ClusterSubscriberGroup). */
export interface SubscriberGroup {
  readonly shardedSubscribers?: ReadonlyMap<string, ShardedSubscriber>;
  reset?(slots: string[][], nodes: Redis[]): Promise<void>;
  stop?(): void;
}

/** The Cluster's private subscriber group, if it has one (for platform/ only). */
export function groupOf(cluster: Cluster): SubscriberGroup | undefined {
  return (cluster as unknown as { shardedSubscribers?: SubscriberGroup }).shardedSubscribers;
}

/** What the Cluster says as its group makes a shard's subscriber (again), and once the group has connected and subscribed them again. */
const SUBSCRIBER_CAME = '+subscriber';
const SUBSCRIBERS_READY = 'subscribersReady';

/** The prefix ioredis gives the Cluster connections it opens itself, before our own name. */
const IOREDIS_PREFIX = /^ioredis-cluster\([^)]*\):/;

/** A port nothing listens on: the probe's Cluster never connects (lazyConnect) but needs a node. */
const PROBE_NODE = { host: '127.0.0.1', port: 1 };
const PROBE_NAME = 'probe-node:probe-role';

interface ClusterProbe {
  readonly shardSockets: boolean;
  readonly connectionNames: boolean;
  /** Settles once the probe's reset is over: the group said `+subscriber`, then `subscribersReady`, through the Cluster. */
  readonly subscriberEvents: Promise<boolean>;
}

/** How long the probe's reset may take to say `subscribersReady`, in ms: it has nothing to wait for, so it answers within microtasks or not at all. */
const PROBE_TIMEOUT_MS = 1_000;

const NOTHING: ClusterProbe = { shardSockets: false, connectionNames: false, subscriberEvents: Promise.resolve(false) };

/**
 * What the installed ioredis offers: a Cluster with sharded subscribers is made
 * (it never connects) and its group reset to one master. Its new subscriber
 * should be a Redis connection in the group's map (its socket will be its
 * `stream`, its state its `status`), named `ioredis-cluster(ssubscriber):<our
 * name>`; the Cluster should say `+subscriber` as it is made and
 * `subscribersReady` when the reset is over.
 */
function probeCluster(): ClusterProbe {
  const cluster = new Cluster([PROBE_NODE], {
    lazyConnect: true,
    ...shardedSubscriberOption(true),
    redisOptions: { lazyConnect: true, connectionName: PROBE_NAME },
  });
  // As the Cluster's own connection to a master is: it carries our name, which the subscriber's is made from.
  const node = new Redis({ ...PROBE_NODE, lazyConnect: true, connectionName: PROBE_NAME });
  const heard: string[] = [];
  for (const event of [SUBSCRIBER_CAME, SUBSCRIBERS_READY]) cluster.on(event, () => heard.push(event));
  const group = groupOf(cluster);
  const cleanUp = () => {
    group?.stop?.();
    node.disconnect();
    cluster.disconnect();
  };
  try {
    const subscribers = group?.shardedSubscribers;
    if (typeof subscribers?.values !== 'function' || typeof group?.reset !== 'function') {
      cleanUp();
      return NOTHING;
    }
    // The group makes the subscriber (and says so) before its first await; the rest of reset() has nothing to connect.
    const reset = group.reset([[`${PROBE_NODE.host}:${PROBE_NODE.port}`]], [node]);
    const [subscriber] = subscribers.values();
    const instance = subscriber?.getInstance?.();
    const name = instance?.options.connectionName ?? '';
    const came = heard.join() === SUBSCRIBER_CAME && typeof instance?.status === 'string';
    return {
      shardSockets: instance instanceof Redis,
      connectionNames: IOREDIS_PREFIX.test(name) && name.replace(IOREDIS_PREFIX, '') === PROBE_NAME,
      subscriberEvents: settled(reset, PROBE_TIMEOUT_MS)
        .then((done) => done && came && heard.join() === `${SUBSCRIBER_CAME},${SUBSCRIBERS_READY}`)
        .finally(cleanUp),
    };
  } catch {
    cleanUp();
    return NOTHING;
  }
}

/** Whether `promise` fulfils within `ms` (false if it rejects or takes longer). */
function settled(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  return Promise.race([
    promise.then(
      () => true,
      () => false,
    ),
    late,
  ]).finally(() => clearTimeout(timer));
}

let probed: ClusterProbe | undefined;
const probe = (): ClusterProbe => (probed ??= probeCluster());
const chosen = new Map<CapabilityName, boolean>();

/** Whether capability `name` of ioredis is used: chosen at the first call (the probe runs once for all three). */
function uses(name: CapabilityName, key: 'shardSockets' | 'connectionNames'): boolean {
  let use = chosen.get(name);
  if (use === undefined) {
    use = usable(name, () => probe()[key]);
    chosen.set(name, use);
  }
  return use;
}

let subscriberEvents: Promise<boolean> | undefined;

/** Whether the subscriber events are used: known a few microtasks after the first call (the probe's reset is asynchronous). */
function usesSubscriberEvents(): Promise<boolean> {
  subscriberEvents ??= ruledOut('ioredis_subscriber_events') ? Promise.resolve(false) : probe().subscriberEvents;
  return subscriberEvents;
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
 * Call `listener` whenever a shard's subscriber of this connection has come back
 * and subscribed again: what was published while it was away can then be read
 * from the history, and nothing published after that is missed. On
 * `subscribersReady` (the group has connected its subscribers and sent their
 * SSUBSCRIBEs), if a subscriber is connected that was not at the last one.
 * Without those events (`internals: false`), every SUBSCRIBER_RESYNC_INTERVAL_MS.
 * A single Redis says `ready` instead, which its user watches: nothing is done
 * for one. Which way is known once the probe has settled (microtasks after the
 * first call; no subscriber connects that soon). Returns what stops it.
 * `listener` is told whether a subscriber did come back (`true`), or it is only
 * the fallback's periodic call (`false`: nothing is known to have come back).
 */
export function onShardSubscriberBack(
  redis: Redis | Cluster,
  listener: (cameBack: boolean) => void,
  internals: boolean | Promise<boolean> = usesSubscriberEvents(),
): () => void {
  if (!(redis instanceof Cluster)) return () => undefined;
  let stop: (() => void) | undefined;
  let stopped = false;
  const start = (use: boolean) => {
    if (!stopped) stop = use ? watchSubscribers(redis, listener) : resyncPeriodically(listener);
  };
  if (typeof internals === 'boolean') start(internals);
  else void internals.then(start);
  return () => {
    stopped = true;
    stop?.();
  };
}

/** Call `listener` on `subscribersReady` when a shard's subscriber is connected that was not at the last one. */
function watchSubscribers(cluster: Cluster, listener: (cameBack: true) => void): () => void {
  const seen = new WeakSet<Redis>();
  const onReady = () => {
    let back = false;
    for (const subscriber of groupOf(cluster)?.shardedSubscribers?.values() ?? []) {
      const instance = subscriber.getInstance?.();
      if (!instance || instance.status !== 'ready' || seen.has(instance)) continue;
      seen.add(instance);
      back = true;
    }
    if (back) listener(true);
  };
  cluster.on(SUBSCRIBERS_READY, onReady);
  return () => cluster.off(SUBSCRIBERS_READY, onReady);
}

function resyncPeriodically(listener: (cameBack: false) => void): () => void {
  const timer = setInterval(() => listener(false), SUBSCRIBER_RESYNC_INTERVAL_MS);
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
    "a Cluster's undocumented 'subscribersReady' event (and '+subscriber' before it): once a shard's subscriber is back and subscribed again, every room catches up",
  fallback: `every room catches up from its history every ${SUBSCRIBER_RESYNC_INTERVAL_MS} ms on a Redis Cluster`,
  inUse: usesSubscriberEvents,
};

export const IOREDIS_CONNECTION_NAMES: Capability = {
  name: 'ioredis_connection_names',
  internal:
    "the ioredis-cluster(<component>): prefix of the connections ioredis opens itself: a node's sharded subscribers count as its connections",
  fallback: 'only connections listed under our own names count (a node is judged by its command connections)',
  inUse: () => uses('ioredis_connection_names', 'connectionNames'),
};

/** What ioredis says when a reply comes for no command it sent. */
const STRAY_REPLY = /^Command queue state error\. .* Last reply: s?(un)?subscribe,/;

/**
 * Whether `err`, thrown out of the event loop, is ioredis's complaint about a
 * late (S)(UN)SUBSCRIBE reply on a subscriber connection it has already closed:
 * when a failover moves a shard's subscriber, ioredis stops the old one and
 * removes its listeners, `error` included, while a SUNSUBSCRIBE from the demoted
 * master may still be in its socket; emitting `error` with no listener throws.
 * Nothing is lost (that connection is gone, its channels are subscribed on the
 * new master); a live connection's such error reaches its listener instead and
 * never gets here.
 */
export function isStrayReplyOnClosedSubscriber(err: unknown): boolean {
  return err instanceof Error && STRAY_REPLY.test(err.message) && /DataHandler/.test(err.stack ?? '');
}

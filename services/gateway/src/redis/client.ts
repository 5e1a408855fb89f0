import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';
import type { BusKind } from '@switchboard/protocol';
import type { Logger } from '../logger.js';
import { shardedSubscriberOption } from '../platform/ioredis-cluster.js';

/** Longest pause between reconnect attempts, in milliseconds. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/** Where Switchboard's Redis is: one server (REDIS_URL), or a Redis Cluster by its seed nodes (REDIS_CLUSTER). */
export type RedisTarget = { readonly url: string } | { readonly clusterNodes: readonly ClusterNode[] };

/** Where Redis is, if anywhere, by the settings: REDIS_CLUSTER (a Redis Cluster's seed nodes) or REDIS_URL (one Redis). */
export function redisTargetOf(settings: {
  readonly redisUrl?: string | undefined;
  readonly redisCluster?: readonly ClusterNode[] | undefined;
}): RedisTarget | undefined {
  if (settings.redisCluster !== undefined) return { clusterNodes: settings.redisCluster };
  if (settings.redisUrl !== undefined) return { url: settings.redisUrl };
  return undefined;
}

/** The kind of bus these settings give, as metrics and /cluster.json name it. */
export function busKindOf(settings: Parameters<typeof redisTargetOf>[0]): BusKind {
  const target = redisTargetOf(settings);
  if (target === undefined) return 'memory';
  return 'clusterNodes' in target ? 'redis-cluster' : 'redis';
}

/** A connection to either: ioredis' Redis or Cluster, which answer the same commands. */
export type RedisClient = Redis | Cluster;

export interface ConnectionOptions {
  /** Whether ioredis subscribes again by itself after a reconnect (the bus does it itself, to know when). */
  readonly autoResubscribe?: boolean;
  /** A Cluster connection that also serves sharded subscriptions (SSUBSCRIBE), one subscriber per shard. */
  readonly shardedSubscriber?: boolean;
}

/**
 * A Redis connection as every Switchboard part wants it: it reconnects forever,
 * never queues commands while Redis is away (they fail at once and the caller
 * says so), and logs its errors instead of throwing them. Its name
 * (`<node>:<role>`) is how CLIENT LIST tells whose connection it is (see
 * node-liveness.ts).
 *
 * A command in flight when the connection drops fails too; it is never resent
 * after the reconnect, because Redis may already have run it (a publish whose
 * reply was lost would otherwise be published twice). Its caller reports the
 * outcome as unknown; v2 clients retry with the same `ref`, which is de-duplicated.
 */
export function createRedis(target: RedisTarget, name: string, logger: Logger, options: ConnectionOptions = {}): RedisClient {
  const common: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    connectionName: name,
    ...(options.autoResubscribe !== undefined && { autoResubscribe: options.autoResubscribe }),
  };
  const redis: RedisClient =
    'url' in target
      ? new Redis(target.url, common)
      : new Cluster([...target.clusterNodes], {
          lazyConnect: true,
          enableOfflineQueue: false,
          enableReadyCheck: true,
          clusterRetryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
          ...shardedSubscriberOption(options.shardedSubscriber ?? false),
          redisOptions: common,
        });
  let closing = false;
  redis.on('error', (err: Error) => {
    if (!closing) logger.warn({ connection: name, err: err.message }, 'redis connection error');
  });
  redis.on('end', () => (closing = true));
  return redis;
}

/** Every server behind a connection: the one, or each master of the cluster (for commands that concern one server, as CLIENT LIST). */
export function serversOf(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

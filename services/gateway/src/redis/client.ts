import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';
import type { BusKind } from '@switchboard/protocol';
import type { Logger } from '../logger.js';
import { shardedSubscriberOption } from '../platform/ioredis-cluster.js';
import { followSwitches } from './sentinel-switch.js';

/** Longest pause between reconnect attempts, in milliseconds. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/** Where Switchboard's Redis is: one server (REDIS_URL), a Redis Cluster by its seed nodes (REDIS_CLUSTER), or one server with replicas whose master Sentinel names (REDIS_SENTINELS). */
export type RedisTarget =
  | { readonly url: string; readonly password?: string | undefined }
  | { readonly clusterNodes: readonly ClusterNode[]; readonly password?: string | undefined }
  | SentinelTarget;

/** A master that Redis Sentinel names: asked of any of `sentinels` by `name`, and again after every failover. */
export interface SentinelTarget {
  readonly sentinels: readonly { readonly host: string; readonly port: number }[];
  readonly name: string;
  /** The Sentinels' own AUTH password (REDIS_SENTINEL_PASSWORD). */
  readonly sentinelPassword?: string | undefined;
  /** The servers' AUTH password (REDIS_PASSWORD). */
  readonly password?: string | undefined;
}

/** Where Redis is, if anywhere, by the settings: REDIS_CLUSTER (a Redis Cluster's seed nodes), REDIS_SENTINELS (Sentinels naming one master) or REDIS_URL (one Redis). */
export function redisTargetOf(settings: {
  readonly redisUrl?: string | undefined;
  readonly redisCluster?: readonly ClusterNode[] | undefined;
  readonly redisSentinels?: readonly { readonly host: string; readonly port: number }[] | undefined;
  readonly redisSentinelName?: string | undefined;
  readonly redisSentinelPassword?: string | undefined;
  readonly redisPassword?: string | undefined;
}): RedisTarget | undefined {
  const password = settings.redisPassword;
  if (settings.redisCluster !== undefined) return { clusterNodes: settings.redisCluster, password };
  if (settings.redisSentinels !== undefined) {
    const name = settings.redisSentinelName ?? DEFAULT_SENTINEL_NAME;
    return { sentinels: settings.redisSentinels, name, sentinelPassword: settings.redisSentinelPassword, password };
  }
  if (settings.redisUrl !== undefined) return { url: settings.redisUrl, password };
  return undefined;
}

/** REDIS_SENTINEL_NAME's default: the name compose's Sentinels monitor the master by. */
export const DEFAULT_SENTINEL_NAME = 'switchboard';

/** The kind of bus these settings give, as metrics and /cluster.json name it. */
export function busKindOf(settings: Parameters<typeof redisTargetOf>[0]): BusKind {
  const target = redisTargetOf(settings);
  if (target === undefined) return 'memory';
  if ('clusterNodes' in target) return 'redis-cluster';
  return 'sentinels' in target ? 'redis-sentinel' : 'redis';
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
      ? new Redis(target.url, { ...common, ...passwordOption(target.password) })
      : 'sentinels' in target
        ? new Redis({ ...common, ...sentinelOptions(target, name, logger) })
        : new Cluster([...target.clusterNodes], {
            lazyConnect: true,
            enableOfflineQueue: false,
            enableReadyCheck: true,
            clusterRetryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
            ...shardedSubscriberOption(options.shardedSubscriber ?? false),
            redisOptions: { ...common, ...passwordOption(target.password) },
          });
  let closing = false;
  redis.on('error', (err: Error) => {
    if (!closing) logger.warn({ connection: name, err: err.message }, 'redis connection error');
  });
  redis.on('end', () => (closing = true));
  // A graceful failover leaves the old master up and writable for seconds: leave it when the Sentinels say so.
  if ('sentinels' in target && redis instanceof Redis) followSwitches(target, redis, logger);
  return redis;
}

/** Every server behind a connection: the one, or each master of the cluster (for commands that concern one server, as CLIENT LIST). */
export function serversOf(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

function passwordOption(password: string | undefined): RedisOptions {
  return password === undefined ? {} : { password };
}

/**
 * A Redis connection to the master the Sentinels name, asked again on every
 * reconnect (ioredis' own Sentinel support; it also checks the server's role
 * and leaves a replica). After a kill the connection drops and the reconnect
 * finds the promoted replica; after a graceful failover, sentinel-switch.ts
 * makes it reconnect (the Sentinels leave the old master writable for seconds,
 * then close its clients as they demote it). A command answered `READONLY`
 * means this connection still talks to a demoted master (a partition):
 * `reconnectOnError` returning 1 reconnects and fails the command with that
 * READONLY (its caller reports it failed; v2 clients resend with the same ref).
 * Not 2, which resends it: with no offline queue the resend fails at once as
 * "Stream isn't writeable", and the READONLY is lost to the caller.
 *
 * Not `failoverDetector`: with it ioredis 5 left connections in `end` for good
 * after a failover here.
 */
function sentinelOptions(target: SentinelTarget, name: string, logger: Logger): RedisOptions {
  return {
    sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
    name: target.name,
    role: 'master',
    ...(target.sentinelPassword !== undefined && { sentinelPassword: target.sentinelPassword }),
    ...passwordOption(target.password),
    // When no Sentinel answers: asked again after this long, ms (as a lost connection is).
    sentinelRetryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    reconnectOnError: (err) => {
      if (!err.message.startsWith('READONLY')) return false;
      logger.warn(
        { connection: name, reason: 'READONLY: a demoted master' },
        'redis connection leaves a replica for the master the Sentinels name',
      );
      return 1;
    },
  };
}

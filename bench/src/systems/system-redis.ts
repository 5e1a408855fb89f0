/**
 * The Redis a system runs over, started fresh for it: one redis-server
 * (`REDIS_URL` for its nodes), or a Redis Cluster of CLUSTER_MASTERS masters
 * (`REDIS_CLUSTER`, `host:port,...`), the same for Switchboard and for Socket.IO's
 * sharded adapter, so that the two are compared on the same kind of cluster.
 */
import { RedisCluster, RedisServer } from '@switchboard/testkit';

/** Masters of a system's Redis Cluster (no replicas: the bench measures load, not failover). */
export const CLUSTER_MASTERS = 3;

export type RedisKind = 'one' | 'cluster';

export interface SystemRedis {
  /** What its nodes are told: REDIS_URL or REDIS_CLUSTER. */
  readonly env: Readonly<Record<string, string>>;
  /** Every redis-server: the one, or each master. */
  readonly servers: readonly RedisServer[];
}

export async function startSystemRedis(kind: RedisKind): Promise<SystemRedis> {
  if (kind === 'one') {
    const redis = await RedisServer.start();
    return { env: { REDIS_URL: redis.url }, servers: [redis] };
  }
  const cluster = await RedisCluster.start({ masters: CLUSTER_MASTERS });
  return { env: { REDIS_CLUSTER: cluster.seeds }, servers: cluster.nodes };
}

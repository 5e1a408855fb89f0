/**
 * Which rooms each gateway listens to, as Redis sees it: the sharded pub/sub
 * channels (SSUBSCRIBE, one per room) its subscriber connections hold, summed
 * over every redis-server (every shard of a Redis Cluster). Redis sends a
 * gateway the events of exactly these rooms, so this is what it receives.
 */

/** CLIENT LIST's `name=` of a gateway's subscriber: `<node>:sub`, prefixed by ioredis in a cluster (`ioredis-cluster(ssubscriber):gw1:sub`). */
const SUBSCRIBER_NAME = /(?:^|:)([^:\s]+):sub$/;

/** Shard-channel subscriptions by node id, from the CLIENT LIST output of each redis-server. */
export function shardSubscriptions(clientLists: readonly string[]): Map<string, number> {
  const byNode = new Map<string, number>();
  for (const list of clientLists)
    for (const line of list.split('\n')) {
      const fields = new Map(
        line
          .trim()
          .split(' ')
          .map((field) => [field.slice(0, field.indexOf('=')), field.slice(field.indexOf('=') + 1)] as const),
      );
      const node = SUBSCRIBER_NAME.exec(fields.get('name') ?? '')?.[1];
      const ssub = Number(fields.get('ssub'));
      if (node !== undefined && Number.isFinite(ssub)) byNode.set(node, (byNode.get(node) ?? 0) + ssub);
    }
  return byNode;
}

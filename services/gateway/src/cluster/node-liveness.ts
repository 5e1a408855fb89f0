import type { NodeId } from '@switchboard/protocol';
import { ownConnectionName } from '../platform/ioredis-cluster.js';
import { serversOf, type RedisClient } from '../redis/client.js';

/**
 * A node whose lease lapsed but whose connections to Redis are still open is
 * slow, not dead: its event loop is busy, its clients are still connected. It
 * is taken for dead only when its connections are gone (a killed process's
 * sockets are closed by its kernel at once), or when every one of them has been
 * silent this long, in seconds (stalled for good, or cut off by a network that
 * Redis has not noticed yet).
 */
export const STALLED_NODE_DEAD_AFTER_S = 60;

/**
 * The node a connection named `<node>:<role>` belongs to. On a Redis Cluster,
 * ioredis lists the connections it opens itself (the sharded subscribers among
 * them) under a prefix of its own: ownConnectionName() takes it off.
 */
export function nodeOfConnectionName(name: string): NodeId | undefined {
  const ours = ownConnectionName(name);
  const colon = ours.lastIndexOf(':');
  return colon > 0 ? ours.slice(0, colon) : undefined;
}

/**
 * Of `nodes` (whose leases lapsed), those that are dead: no connection to Redis
 * left, or all of them silent for STALLED_NODE_DEAD_AFTER_S. Every Switchboard
 * connection is named `<node>:<role>` (see connection.ts), which is how CLIENT
 * LIST tells whose it is.
 */
export async function deadNodes(redis: RedisClient, nodes: readonly NodeId[]): Promise<{ dead: NodeId[]; slow: NodeId[] }> {
  // On a Redis Cluster a node is connected to every shard: any of them shows it alive.
  const list = (await Promise.all(serversOf(redis).map((server) => server.call('CLIENT', 'LIST') as Promise<string>))).join('\n');
  const quietest = new Map<NodeId, number>();
  for (const line of list.split('\n')) {
    const name = / name=(\S*)/.exec(line)?.[1];
    const idle = Number(/ idle=(\d+)/.exec(line)?.[1] ?? 'NaN');
    if (!name || Number.isNaN(idle)) continue;
    const node = nodeOfConnectionName(name);
    if (node === undefined) continue;
    quietest.set(node, Math.min(idle, quietest.get(node) ?? Infinity));
  }
  const dead: NodeId[] = [];
  const slow: NodeId[] = [];
  for (const node of nodes) {
    const idle = quietest.get(node);
    if (idle === undefined || idle >= STALLED_NODE_DEAD_AFTER_S) dead.push(node);
    else slow.push(node);
  }
  return { dead, slow };
}

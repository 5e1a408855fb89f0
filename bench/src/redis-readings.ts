/**
 * What the model scenario reads from the redis-servers of a system: each one's
 * memory (INFO memory `used_memory`), and which shard of a Redis Cluster holds
 * the sessions slot (the gateways' `{P}` keys: sessions, presence, nicknames).
 */
import { keySlot, parseClusterNodes, type RedisServer } from '@switchboard/testkit';

/** The gateways' hash tag for sessions and presence, with the default REDIS_PREFIX. */
const SESSIONS_TAG = '{switchboard}';

/** Bytes Redis has allocated (used_memory), per server. */
export async function usedMemory(servers: readonly RedisServer[]): Promise<number[]> {
  return Promise.all(servers.map(async (server) => usedMemoryOf(await server.cli('INFO', 'memory'))));
}

/** `used_memory` out of an INFO memory answer. */
export function usedMemoryOf(info: string): number {
  const match = /^used_memory:(\d+)\r?$/m.exec(info);
  if (!match) throw new Error('no used_memory in INFO memory');
  return Number(match[1]);
}

/** The index of the server serving the sessions slot: the master whose own line (`myself`) in CLUSTER NODES holds it; 0 for one Redis. */
export async function sessionsShard(servers: readonly RedisServer[]): Promise<number> {
  if (servers.length === 1) return 0;
  const slot = keySlot(SESSIONS_TAG);
  const views = await Promise.all(servers.map((server) => server.cli('CLUSTER', 'NODES')));
  const index = views.findIndex((view) =>
    parseClusterNodes(view).some((line) => line.flags.includes('myself') && line.slots.some(([from, to]) => slot >= from && slot <= to)),
  );
  if (index === -1) throw new Error(`no server says it serves slot ${slot} (${SESSIONS_TAG})`);
  return index;
}

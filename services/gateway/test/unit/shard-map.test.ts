import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { ShardMap } from '../../src/bus/shard-map.js';
import { keySlot } from '../../src/redis/key-slot.js';
import { RedisKeys } from '../../src/redis/keys.js';

/** A Cluster that never connects, whose slots table says `owner(slot)` serves each slot. */
function clusterWith(owner: (slot: number) => string): Cluster {
  const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
  cluster.slots = Array.from({ length: 16_384 }, (_, slot) => [owner(slot)]);
  return cluster;
}

describe('ShardMap', () => {
  it("gives every master of a cluster a probe channel of the node's whose slot it owns", () => {
    const thirds = (slot: number) => (slot < 5_461 ? 'a:1' : slot < 10_923 ? 'b:2' : 'c:3');
    const cluster = clusterWith(thirds);
    try {
      const map = new ShardMap(cluster, new RedisKeys('sb'), 'node-1');
      const targets = map.probeTargets();
      assert.deepEqual(targets.map((t) => t.shard).sort(), ['a:1', 'b:2', 'c:3']);
      for (const { shard, channel } of targets) {
        assert.equal(thirds(keySlot(channel)), shard, `${channel} lands on ${shard}`);
        assert.match(channel, /^\{sb:probe:node-1:\d+\}:probe$/);
        assert.equal(map.shardOf(channel), shard);
      }
    } finally {
      cluster.disconnect();
    }
  });

  it('follows a failover: the promoted master is named and probed, the demoted one is gone; a master owning one slot gets one too', () => {
    let owners: (slot: number) => string = (slot) => (slot < 8_192 ? 'a:1' : 'b:2');
    const cluster = clusterWith((slot) => owners(slot));
    try {
      const map = new ShardMap(cluster, new RedisKeys('sb'), 'node-1');
      const before = map.probeTargets();
      owners = (slot) => (slot === 42 ? 'c:3' : slot < 8_192 ? 'a2:4' : 'b:2');
      cluster.slots = Array.from({ length: 16_384 }, (_, slot) => [owners(slot)]);
      const after = map.probeTargets();
      assert.deepEqual(after.map((t) => t.shard).sort(), ['a2:4', 'b:2', 'c:3']);
      assert.equal(after.find((t) => t.shard === 'b:2')?.channel, before.find((t) => t.shard === 'b:2')?.channel, 'kept');
      assert.equal(keySlot(after.find((t) => t.shard === 'c:3')!.channel), 42);
    } finally {
      cluster.disconnect();
    }
  });

  it('names one Redis by its address: one shard', () => {
    const redis = new Redis('redis://127.0.0.1:6390', { lazyConnect: true });
    try {
      const map = new ShardMap(redis, new RedisKeys('sb'), 'node-1');
      assert.deepEqual(map.probeTargets(), [{ shard: '127.0.0.1:6390', channel: '{sb:probe:node-1:0}:probe' }]);
      assert.equal(map.shardOf('{sb:lobby}:events'), '127.0.0.1:6390');
    } finally {
      redis.disconnect();
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually } from '../../src/eventually.js';
import { keySlot } from '../../src/key-slot.js';
import { RedisCluster } from '../../src/redis-cluster.js';
import { RedisSentinelGroup } from '../../src/redis-sentinel-group.js';
import { REPLICATION_LINK } from '../../src/tcp-proxy.js';

/** Real redis-servers: generous bounds for a loaded machine. */
const TEST_TIMEOUT_MS = 90_000;

describe('keySlot', () => {
  it('computes the slot as Redis does, hash tags included', () => {
    // Values from CLUSTER KEYSLOT on Redis 7.0.
    assert.equal(keySlot('foo'), 12182);
    assert.equal(keySlot('{user1000}.following'), keySlot('user1000'));
    assert.equal(keySlot('a{}b'), keySlot('a{}b'));
    assert.equal(keySlot('123456789'), 0x31c3 % 16384);
  });
});

describe('RedisCluster with replicas', { timeout: TEST_TIMEOUT_MS }, () => {
  it('starts 3 masters with a replica each, fails one over gracefully, and promotes a replica when its master is killed', async () => {
    const cluster = await RedisCluster.start({ replicasPerMaster: 1, nodeTimeoutMs: 1000 });
    try {
      const masters = await cluster.masters();
      assert.equal(masters.length, 3);
      assert.equal(cluster.nodes.length, 6);
      const info = await masters[0]!.cli('CONFIG', 'GET', 'cluster-require-full-coverage');
      assert.match(info, /no/);
      const key = '{room-a}:history';
      const master = await cluster.masterOfKey(key);
      assert.equal(Number((await master.cli('CLUSTER', 'KEYSLOT', key)).trim()), keySlot(key));
      await master.cli('SET', key, 'kept');
      const [replica] = await cluster.replicasOf(master);
      assert.ok(replica, 'the master has a replica');

      await cluster.failover(replica);
      assert.equal(await cluster.masterOfKey(key), replica);
      assert.equal((await replica.cli('GET', key)).trim(), 'kept');
      // The former master hears of it by gossip, a moment later on a loaded machine.
      await eventually(async () => (await cluster.replicasOf(replica)).includes(master), { what: 'the former master to follow it' });

      await cluster.waitForReplicas();
      await cluster.kill(replica);
      await cluster.waitForMaster(master);
      assert.equal(await cluster.masterOfKey(key), master);
      assert.equal((await master.cli('GET', key)).trim(), 'kept');
      await cluster.waitUntilOk();
    } finally {
      await cluster.dispose();
    }
  });
});

describe('RedisCluster behind proxies', { timeout: TEST_TIMEOUT_MS }, () => {
  it('lets a replica’s link lag while clients reach the master at once, and promotes the replica when the master is killed', async () => {
    const cluster = await RedisCluster.start({ replicasPerMaster: 1, nodeTimeoutMs: 1000, proxied: true });
    try {
      const key = '{room-b}:history';
      const master = await cluster.masterOfKey(key);
      const [replica] = await cluster.replicasOf(master);
      assert.ok(replica, 'the master has a replica');
      const link = cluster.linkTo(master);
      assert.match(cluster.seeds, new RegExp(`127.0.0.1:${link.port}`), 'clients are given the proxies');
      link.delay(1500, REPLICATION_LINK);
      // The write is answered at once; the replica has not acknowledged it 200 ms later.
      assert.deepEqual((await master.cliSession([`SET ${key} late`, 'WAIT 1 200'])).trim().split('\n'), ['OK', '0']);
      assert.deepEqual((await master.cliSession([`SET ${key} later`, 'WAIT 1 10000'])).trim().split('\n'), ['OK', '1']);
      link.delay(0);
      await cluster.kill(master);
      await cluster.waitForMaster(replica);
      assert.equal(await cluster.masterOfKey(key), replica);
    } finally {
      await cluster.dispose();
    }
  });
});

describe('RedisSentinelGroup', { timeout: TEST_TIMEOUT_MS }, () => {
  it('promotes the replica on SENTINEL FAILOVER, and again when the master is killed', async () => {
    const group = await RedisSentinelGroup.start();
    try {
      assert.equal(group.sentinels.split(',').length, 3);
      const first = await group.currentMaster();
      assert.equal(first, group.servers[0]);
      await first.cli('SET', 'k', 'v');
      const second = await group.sentinelFailover();
      assert.equal(second, group.servers[1]);
      assert.equal((await second.cli('GET', 'k')).trim(), 'v');

      await group.waitUntilReady();
      const killed = await group.killMaster();
      assert.equal(killed, second);
      assert.equal(await group.waitForNewMaster(killed), first);
    } finally {
      await group.dispose();
    }
  });

  it('replicates through a link the test holds: a write reaches the replica only once it is let go', async () => {
    const group = await RedisSentinelGroup.start();
    try {
      const [master, replica] = group.servers;
      group.link.freeze();
      // WAIT 1 replica for 200 ms after the write, on its connection: not acknowledged through the held link.
      assert.deepEqual((await master.cliSession(['SET late 1', 'WAIT 1 200'])).trim().split('\n'), ['OK', '0']);
      assert.equal((await replica.cli('GET', 'late')).trim(), '', 'not there yet');
      group.link.thaw();
      assert.deepEqual((await master.cliSession(['SET later 2', 'WAIT 1 10000'])).trim().split('\n'), ['OK', '1']);
      assert.equal((await replica.cli('GET', 'late')).trim(), '1');
    } finally {
      await group.dispose();
    }
  });
});

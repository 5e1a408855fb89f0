import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { pino } from 'pino';
import { TopologyFollower } from '../../src/bus/topology-follower.js';
import { keySlot } from '../../src/redis/key-slot.js';

const SLOTS = 16_384;
const ROOM_A = '{sb:a}:events';
const ROOM_B = '{sb:b}:events';

/**
 * A publisher and a subscriber Cluster that never connect. The subscriber's
 * slot refresh (what ioredis's refreshSlotsCache does against Redis) installs
 * `next.owner` as its slots table: the topology the cluster has now.
 */
function clusters() {
  const pub = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
  const sub = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
  const table = (owner: (slot: number) => string) => Array.from({ length: SLOTS }, (_, slot) => [owner(slot)]);
  const next = { owner: (_slot: number): string => 'a:1', refreshes: 0 };
  sub.slots = table(next.owner);
  sub.refreshSlotsCache = (callback) => {
    next.refreshes++;
    sub.slots = table(next.owner);
    setImmediate(() => callback?.(null));
  };
  return { pub, sub, next };
}

/** A few turns of the event loop: every refresh asked for has run. */
async function quiet(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

function follower(pub: Cluster | Redis, sub: Cluster | Redis) {
  const resubscribed: string[][] = [];
  const follow = new TopologyFollower(pub, sub, {
    intervalMs: 60_000,
    channels: () => [ROOM_A, ROOM_B],
    resubscribe: (channels) => {
      resubscribed.push([...channels]);
      return Promise.resolve();
    },
    log: pino({ level: 'silent' }),
  });
  return { follow, resubscribed };
}

describe('TopologyFollower', () => {
  it('subscribes again, after a refresh, the channels whose slot has another master now, and only those', async () => {
    const { pub, sub, next } = clusters();
    const { follow, resubscribed } = follower(pub, sub);
    try {
      await follow.refresh('test');
      assert.deepEqual(resubscribed, [], 'nothing moved');
      // A failover of ROOM_A's shard: its slot's master is another node now.
      const moved = keySlot(ROOM_A);
      next.owner = (slot) => (slot === moved ? 'b:2' : 'a:1');
      await follow.refresh('test');
      assert.deepEqual(resubscribed, [[ROOM_A]]);
    } finally {
      pub.disconnect();
      sub.disconnect();
    }
  });

  it('refreshes when the publisher read its slots again, and on a reply that says the topology changed; once at a time', async () => {
    const { pub, sub, next } = clusters();
    const { follow } = follower(pub, sub);
    follow.start();
    try {
      pub.emit('refresh');
      follow.noticeError(new Error('TRYAGAIN Multiple keys request during rehashing of slot'));
      follow.noticeError(new Error('MOVED 3999 127.0.0.1:6381'));
      follow.noticeError(new Error('ERR unknown command'));
      await quiet();
      // The publisher's refresh ran one; the two asked for meanwhile ran once more, after it; the ERR none.
      assert.equal(next.refreshes, 2);
      follow.noticeError(new Error('CLUSTERDOWN The cluster is down'));
      await quiet();
      assert.equal(next.refreshes, 3);
    } finally {
      follow.stop();
      pub.disconnect();
      sub.disconnect();
    }
  });

  it('does nothing for a single Redis', async () => {
    const pub = new Redis({ lazyConnect: true });
    const sub = new Redis({ lazyConnect: true });
    const { follow, resubscribed } = follower(pub, sub);
    follow.start();
    follow.noticeError(new Error('READONLY You cannot write against a read only replica.'));
    await follow.refresh('test');
    follow.stop();
    assert.deepEqual(resubscribed, []);
    pub.disconnect();
    sub.disconnect();
  });
});

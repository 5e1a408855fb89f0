import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it, mock } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { pino } from 'pino';
import { RedisCluster } from '@switchboard/testkit';
import {
  IOREDIS_CONNECTION_NAMES,
  IOREDIS_SHARD_SOCKETS,
  IOREDIS_SUBSCRIBER_EVENTS,
  SUBSCRIBER_RESYNC_INTERVAL_MS,
  isStrayReplyOnClosedSubscriber,
  onShardSubscriberBack,
  ownConnectionName,
  socketsOf,
} from '../../src/platform/ioredis-cluster.js';
import { createRedis, type RedisClient } from '../../src/redis/client.js';

const logger = pino({ level: 'silent' });
/** The name our subscriber connection is given, and how ioredis lists its sharded subscribers. */
const NAME = 'unit-node:sub';
const SUBSCRIBER_NAME = `ioredis-cluster(ssubscriber):${NAME}`;
/** A sharded channel, hash-tagged as a room's is. */
const CHANNEL = '{unit:room}:events';

/** The `addr` (the client's side: ip:port) of each connection CLIENT LIST shows under `name`. */
async function addressesNamed(server: { cli(...args: string[]): Promise<string> }, name: string): Promise<string[]> {
  const list = await server.cli('CLIENT', 'LIST');
  return list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => / addr=(\S+)/.exec(line)![1]!);
}

describe('platform/ioredis-cluster against the installed ioredis', () => {
  it("finds a Cluster's sharded subscribers, its subscriber events and its connection names, and uses them", async () => {
    assert.equal(IOREDIS_SHARD_SOCKETS.inUse(), true);
    assert.equal(await IOREDIS_SUBSCRIBER_EVENTS.inUse(), true);
    assert.equal(IOREDIS_CONNECTION_NAMES.inUse(), true);
  });

  it("takes ioredis's prefix off the names it lists, and leaves names as they are in the fallback", () => {
    assert.equal(ownConnectionName(SUBSCRIBER_NAME), NAME);
    assert.equal(ownConnectionName(NAME), NAME);
    assert.equal(ownConnectionName(SUBSCRIBER_NAME, false), SUBSCRIBER_NAME);
  });

  it('resyncs every SUBSCRIBER_RESYNC_INTERVAL_MS without the events (the fallback), until stopped; never for a single Redis', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    const single = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true });
    let calls = 0;
    const stop = onShardSubscriberBack(cluster, () => calls++, false);
    const stopSingle = onShardSubscriberBack(single, () => calls++, false);
    t.mock.timers.tick(SUBSCRIBER_RESYNC_INTERVAL_MS - 1);
    assert.equal(calls, 0);
    t.mock.timers.tick(1);
    assert.equal(calls, 1);
    t.mock.timers.tick(SUBSCRIBER_RESYNC_INTERVAL_MS);
    assert.equal(calls, 2);
    stop();
    stopSingle();
    t.mock.timers.tick(SUBSCRIBER_RESYNC_INTERVAL_MS * 3);
    assert.equal(calls, 2);
    cluster.disconnect();
    single.disconnect();
  });
});

describe('platform/ioredis-cluster on a real 3-master Redis Cluster', { timeout: 60_000 }, () => {
  let cluster: RedisCluster;
  let sub: RedisClient;

  before(async () => {
    cluster = await RedisCluster.start();
    sub = createRedis({ clusterNodes: cluster.seedNodes }, NAME, logger, { autoResubscribe: false, shardedSubscriber: true });
    await sub.connect();
    await sub.ssubscribe(CHANNEL);
  });
  after(async () => {
    sub?.disconnect();
    await cluster?.dispose();
  });

  it("lists the sharded subscriber's socket among the connection's sockets, and leaves it out in the fallback", async () => {
    const all = socketsOf(sub);
    const exposed = socketsOf(sub, false);
    const extra = all.filter((socket) => socket !== undefined && !exposed.includes(socket));
    assert.equal(extra.length, 1, 'one subscriber: one master serves the channel');
    const shard = await cluster.nodeFor(CHANNEL);
    assert.deepEqual(
      await addressesNamed(shard, SUBSCRIBER_NAME),
      [`127.0.0.1:${extra[0]!.localPort}`],
      "it is the subscriber's own socket",
    );
  });

  it('says when a shard subscriber came back after its connection was killed, once it has subscribed again', async () => {
    const shard = await cluster.nodeFor(CHANNEL);
    const [address] = await addressesNamed(shard, SUBSCRIBER_NAME);
    const back = mock.fn();
    const came = new Promise<void>((resolve) => {
      const stop = onShardSubscriberBack(sub, () => {
        back();
        stop();
        resolve();
      });
    });
    await shard.cli('CLIENT', 'KILL', 'ADDR', address!);
    await came;
    assert.equal(back.mock.callCount(), 1);
    // The subscription stands again, on a new connection: what is published from now on is heard.
    const message = once(sub, 'smessage') as Promise<[string, string, ...unknown[]]>;
    await shard.cli('SPUBLISH', CHANNEL, 'after the kill');
    const [channel, text] = await message;
    assert.deepEqual([channel, text], [CHANNEL, 'after the kill']);
  });
});

describe('isStrayReplyOnClosedSubscriber', () => {
  /** As ioredis throws it when a closed subscriber (no error listener left) reads a late reply (seen in a graceful failover). */
  const thrown = (message: string, where = 'DataHandler.shiftCommand (node_modules/ioredis/built/DataHandler.js:180:27)') => {
    const err = new Error(message);
    err.stack = `Error: ${message}\n    at ${where}`;
    return err;
  };

  it('recognises a late (S)(UN)SUBSCRIBE reply on a closed subscriber', () => {
    const message = 'Command queue state error. If you can reproduce this, please report it. Last reply: ';
    assert.ok(isStrayReplyOnClosedSubscriber(thrown(`${message}sunsubscribe,{switchboard:probe:node-1:1}:probe,1`)));
    assert.ok(isStrayReplyOnClosedSubscriber(thrown(`${message}ssubscribe,{switchboard:lobby}:events,1`)));
  });

  it('leaves every other error fatal', () => {
    const message = 'Command queue state error. If you can reproduce this, please report it. Last reply: ';
    assert.ok(!isStrayReplyOnClosedSubscriber(thrown(`${message}OK`)), 'a reply to a command');
    assert.ok(
      !isStrayReplyOnClosedSubscriber(thrown(`${message}sunsubscribe,x,1`, 'Somewhere.else (src/mine.ts:1:1)')),
      'not thrown by ioredis',
    );
    assert.ok(!isStrayReplyOnClosedSubscriber(new TypeError('x is undefined')));
    assert.ok(!isStrayReplyOnClosedSubscriber('Command queue state error. Last reply: sunsubscribe'), 'not an Error');
  });
});

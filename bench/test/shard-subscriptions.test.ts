import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shardSubscriptions } from '../src/shard-subscriptions.js';

/** CLIENT LIST lines as Redis 7.0 prints them, shortened to the fields that matter and a few around them. */
const line = (id: number, name: string, ssub: number) =>
  `id=${id} addr=127.0.0.1:4${id} laddr=127.0.0.1:6379 fd=8 name=${name} age=3 idle=0 flags=P db=0 sub=0 psub=0 ssub=${ssub} multi=-1 cmd=ssubscribe user=default`;

describe('shard subscriptions', () => {
  it("counts each gateway's shard channels on one Redis, by its subscriber's name", () => {
    const list = [line(1, 'gw1:sub', 17), line(2, 'gw1:pub', 0), line(3, 'gw2:sub', 16), line(4, '', 0)].join('\n');
    assert.deepEqual(
      [...shardSubscriptions([list])],
      [
        ['gw1', 17],
        ['gw2', 16],
      ],
    );
  });

  it("adds up a gateway's subscribers over the shards of a Redis Cluster, whatever ioredis prefixes", () => {
    const shards = [
      [line(1, 'ioredis-cluster(ssubscriber):gw1:sub', 5), line(2, 'gw1:sub', 0)].join('\n'),
      line(3, 'ioredis-cluster(ssubscriber):gw1:sub', 7),
      [line(4, 'ioredis-cluster(ssubscriber):gw1:sub', 4), line(5, 'ioredis-cluster(ssubscriber):gw3:sub', 2)].join('\n'),
    ];
    assert.deepEqual(Object.fromEntries(shardSubscriptions(shards)), { gw1: 16, gw3: 2 });
  });

  it('ignores connections of other names and lines without the field', () => {
    assert.equal(shardSubscriptions([`${line(1, 'gw1:subscriber', 3)}\nsomething else\n`]).size, 0);
  });
});

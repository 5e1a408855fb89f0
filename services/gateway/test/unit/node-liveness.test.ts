import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeOfConnectionName } from '../../src/cluster/node-liveness.js';

describe('nodeOfConnectionName', () => {
  it('reads the node of our own connections', () => {
    assert.equal(nodeOfConnectionName('gw-1:pub'), 'gw-1');
    assert.equal(nodeOfConnectionName('host:abc-1:sessions'), 'host:abc-1');
  });

  it("reads it through ioredis' prefix on a Redis Cluster's own connections (the sharded subscribers)", () => {
    assert.equal(nodeOfConnectionName('ioredis-cluster(ssubscriber):gw-1:sub'), 'gw-1');
    assert.equal(nodeOfConnectionName('ioredis-cluster(refresher)'), undefined);
  });

  it('ignores names that are not ours', () => {
    assert.equal(nodeOfConnectionName('plain'), undefined);
    assert.equal(nodeOfConnectionName(':pub'), undefined);
  });
});

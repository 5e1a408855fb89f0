import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keySlot } from '../../src/redis/key-slot.js';

describe('keySlot', () => {
  it('gives the slots Redis Cluster gives (CLUSTER KEYSLOT, as read from redis-server 7.0)', () => {
    assert.equal(keySlot('123456789'), 12_739);
    assert.equal(keySlot('foo'), 12_182);
    // An empty tag hashes the whole key.
    assert.equal(keySlot('foo{}{bar}'), 8_363);
  });

  it('hashes only the hash tag: the part between the first { and the next }', () => {
    assert.equal(keySlot('{user1000}.following'), keySlot('user1000'));
    assert.equal(keySlot('foo{{bar}}zap'), keySlot('{bar'));
    assert.equal(keySlot('foo{bar}{zap}'), keySlot('bar'));
    assert.equal(keySlot('{switchboard:lobby}:events'), keySlot('{switchboard:lobby}:history'));
  });
});

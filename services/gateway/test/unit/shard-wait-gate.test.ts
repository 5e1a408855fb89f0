import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShardWaitGate } from '../../src/bus/shard-wait-gate.js';

describe('ShardWaitGate', () => {
  it('lets every publish wait while the shard keeps up', () => {
    const gate = new ShardWaitGate();
    assert.deepEqual([gate.enter('a'), gate.enter('a'), gate.enter('a')], [true, true, true]);
    assert.equal(gate.leave('a', true), undefined);
  });

  it('once a WAIT fell short, lets one publish at a time wait on that shard and refuses the others at once; others shards are not touched', () => {
    const gate = new ShardWaitGate();
    gate.enter('a');
    assert.equal(gate.leave('a', false), 'fell short');
    assert.equal(gate.enter('a'), true, 'one may try');
    assert.equal(gate.enter('a'), false, 'the next is refused while it waits');
    assert.equal(gate.enter('b'), true, 'another shard is not held up');
    assert.equal(gate.leave('a', false), undefined, 'still short: nothing new to say');
    assert.equal(gate.enter('a'), true, 'the next one may try');
    assert.equal(gate.leave('a', true), 'caught up');
    assert.deepEqual([gate.enter('a'), gate.enter('a')], [true, true], 'all may wait again');
  });
});

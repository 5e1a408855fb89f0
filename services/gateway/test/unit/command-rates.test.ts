import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientCommand } from '@switchboard/protocol';
import { CommandRates } from '../../src/ws/command-rates.js';

const LIMITS = { joinRatePerSec: 1, joinBurst: 2, presenceQueryRatePerSec: 4, presenceQueryBurst: 3 };

describe('CommandRates', () => {
  it('holds joins to their rate and /who and /rooms to theirs; lines and renames to neither', () => {
    const rate = (command: ClientCommand) => CommandRates.rateOf(command);
    assert.equal(rate({ type: 'join', room: 'dev' }), 'join');
    assert.equal(rate({ type: 'who' }), 'presence');
    assert.equal(rate({ type: 'rooms' }), 'presence');
    assert.equal(rate({ type: 'message', message: 'hi' }), undefined);
    assert.equal(rate({ type: 'nick', nickname: 'ada' }), undefined);
  });

  it('allows each burst, then refuses with the wait until the next token, each rate on its own', () => {
    let now = 0;
    const rates = new CommandRates(LIMITS, () => now);
    assert.deepEqual([rates.take('join'), rates.take('join')], [0, 0]);
    assert.equal(rates.take('join'), 1000, 'a join a second: the next in 1000 ms');
    assert.deepEqual([rates.take('presence'), rates.take('presence'), rates.take('presence')], [0, 0, 0], 'joins took nothing of it');
    assert.equal(rates.take('presence'), 250);
    now += 400;
    assert.equal(rates.take('join'), 600);
    assert.equal(rates.take('presence'), 0, 'refilled at 4/s');
    now += 600;
    assert.equal(rates.take('join'), 0);
  });

  it('never says "now" when it refuses: a refusal waits at least 1 ms', () => {
    let now = 0;
    const rates = new CommandRates({ ...LIMITS, presenceQueryRatePerSec: 1_000_000, presenceQueryBurst: 1 }, () => now);
    assert.equal(rates.take('presence'), 0);
    now += 0.0005;
    const wait = rates.take('presence');
    assert.ok(wait >= 1, `waits ${wait} ms`);
  });
});

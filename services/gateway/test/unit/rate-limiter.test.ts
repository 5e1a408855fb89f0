import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter } from '../../src/ws/rate-limiter.js';

describe('RateLimiter', () => {
  it('allows a burst, then refills at the given rate', () => {
    let now = 0;
    const limiter = new RateLimiter(2, 3, () => now);
    assert.deepEqual([limiter.take(), limiter.take(), limiter.take(), limiter.take()], [true, true, true, false]);
    now += 500; // half a second at 2/s: one token
    assert.deepEqual([limiter.take(), limiter.take()], [true, false]);
    now += 60_000; // never more than the burst
    assert.deepEqual([limiter.take(), limiter.take(), limiter.take(), limiter.take()], [true, true, true, false]);
  });

  it('says how long until the next token: 0 while there is one, then what the rate takes to refill one', () => {
    let now = 0;
    const limiter = new RateLimiter(4, 1, () => now);
    assert.equal(limiter.waitMs(), 0);
    assert.equal(limiter.take(), true);
    assert.equal(limiter.waitMs(), 250);
    now += 100;
    assert.equal(limiter.waitMs(), 150);
    assert.equal(limiter.take(), false, 'asking does not take');
    now += 150;
    assert.equal(limiter.waitMs(), 0);
    assert.equal(limiter.take(), true, 'a token exactly when it said');
  });
});

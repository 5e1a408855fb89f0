import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEADROOM, yRange } from '../src/y-range.js';

describe('the y range of a dashboard plot', () => {
  it('reaches above the highest value, so a spike is drawn whole under a round, labelled top', () => {
    assert.deepEqual(yRange(0, 490), [0, 600]);
    assert.deepEqual(yRange(3, 48.9), [0, 60]);
    assert.deepEqual(yRange(0, 0.7), [0, 1]);
    assert.deepEqual(yRange(0, 12_400), [0, 15_000]);
    assert.deepEqual(yRange(0, 100), [0, 120]);
  });

  it('keeps every value, spikes included, below its top with room to spare, at any size', () => {
    for (let max = 0.013; max < 1e7; max *= 1.37) {
      const [, top] = yRange(0, max);
      assert.ok(top >= max * (1 + HEADROOM), `${max} fits under ${top}`);
      assert.ok(top <= Math.max(1, max * 1.6), `${top} is not far above ${max}`);
    }
  });

  it('starts at 0, or below it for a negative value, and draws a scale for no values or all zeros', () => {
    assert.deepEqual(yRange(null, null), [0, 1]);
    assert.deepEqual(yRange(0, 0), [0, 1]);
    assert.deepEqual(yRange(-2, 5), [-2, 6]);
  });
});

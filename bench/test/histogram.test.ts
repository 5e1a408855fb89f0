import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram } from '../src/generator/histogram.js';

describe('Histogram', () => {
  it('gives percentiles within 1 % of the exact ones', () => {
    const h = new Histogram();
    for (let us = 1; us <= 100_000; us++) h.record(us);
    for (const p of [50, 90, 99, 99.9]) {
      const exact = (p / 100) * 100_000;
      assert.ok(Math.abs(h.percentile(p) - exact) / exact < 0.01, `p${p}: ${h.percentile(p)} vs ${exact}`);
    }
  });

  it('keeps the maximum exactly and never reports a percentile above it', () => {
    const h = new Histogram();
    for (const us of [120, 130, 98_765.4]) h.record(us);
    assert.equal(h.maxUs, 98_765.4);
    assert.equal(h.percentile(100), 98_765.4);
  });

  it('merges the data of other histograms as if every sample had been recorded in one', () => {
    const a = new Histogram();
    const b = new Histogram();
    const all = new Histogram();
    for (let i = 0; i < 1_000; i++) {
      const us = 50 + ((i * 7919) % 5_000);
      (i % 2 ? a : b).record(us);
      all.record(us);
    }
    const merged = new Histogram();
    merged.add(a.toData());
    merged.add(b.toData());
    assert.equal(merged.count, all.count);
    assert.equal(merged.maxUs, all.maxUs);
    for (const p of [50, 99]) assert.equal(merged.percentile(p), all.percentile(p));
  });

  it('says NaN for a percentile of nothing', () => {
    assert.ok(Number.isNaN(new Histogram().percentile(50)));
  });
});

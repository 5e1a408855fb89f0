import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median, summarizeRounds } from '../src/rounds.js';

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });
});

describe('summarizeRounds', () => {
  const isReference = (system: string) => system === 'ref';

  it('compares each system to the reference within each round, then takes the median of those ratios', () => {
    const summary = summarizeRounds(
      [
        [
          { system: 'a', cpuPerMillion: 5, p99Ms: 20, lost: 0 },
          { system: 'ref', cpuPerMillion: 10, p99Ms: 50, lost: 0 },
        ],
        [
          { system: 'a', cpuPerMillion: 9, p99Ms: 30, lost: 2 },
          { system: 'ref', cpuPerMillion: 20, p99Ms: 90, lost: 0 },
        ],
        [
          { system: 'a', cpuPerMillion: 6, p99Ms: 25, lost: 0 },
          { system: 'ref', cpuPerMillion: 10, p99Ms: 40, lost: 0 },
        ],
      ],
      isReference,
    );
    const a = summary.find((s) => s.system === 'a')!;
    assert.equal(a.rounds, 3);
    assert.deepEqual(a.cpuPerMillion, { median: 6, min: 5, max: 9 });
    // Ratios 0.5, 0.45, 0.6: the median of the ratios, not the ratio of the medians (6 / 10 = 0.6).
    assert.deepEqual(a.ratio, { median: 0.5, min: 0.45, max: 0.6 });
    assert.deepEqual(a.p99Ms, { median: 25, min: 20, max: 30 });
    assert.equal(a.lost, 2);
    assert.deepEqual(summary.find((s) => s.system === 'ref')!.ratio, { median: 1, min: 1, max: 1 });
  });

  it('leaves out the rounds a system failed in, and has no ratio without a reference', () => {
    const summary = summarizeRounds([[{ system: 'a', cpuPerMillion: 5, p99Ms: 20, lost: 0 }], []], isReference);
    assert.equal(summary[0]!.rounds, 1);
    assert.equal(summary[0]!.ratio, undefined);
  });
});

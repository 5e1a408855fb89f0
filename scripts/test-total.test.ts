import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SummaryReader, totalLines, type TierSummary } from './test-total.js';

/** The closing lines node's spec reporter prints, coloured as on a terminal. */
const closing = (counts: Record<string, number>) => Object.entries(counts).map(([name, n]) => `\x1b[34mℹ ${name} ${n}\x1b[39m`);

const tier = (pass: number, extra: Partial<TierSummary> = {}): TierSummary => ({
  tests: pass,
  pass,
  fail: 0,
  cancelled: 0,
  skipped: 0,
  todo: 0,
  durationMs: 1_000,
  ...extra,
});

describe("npm test's one total", () => {
  it("reads a tier's closing counts from its output, colours and all, and nothing from a tier that printed none", () => {
    const reader = new SummaryReader();
    for (const line of [
      '▶ a suite',
      '  ✔ a test named ℹ tests 99 (1.2ms)',
      'ℹ tests 99 in a message',
      ...closing({ tests: 12, suites: 3, pass: 10, fail: 1, cancelled: 0, skipped: 1, todo: 0 }),
      'ℹ duration_ms 41234.56',
    ]) {
      reader.line(line);
    }
    assert.deepEqual(reader.summary, { tests: 12, pass: 10, fail: 1, cancelled: 0, skipped: 1, todo: 0, durationMs: 41234.56 });
    const none = new SummaryReader();
    none.line('npm error Missing script: "test:nothing"');
    assert.equal(none.summary, undefined);
  });

  it("sums the tiers into a last line a CI can read ('total: N passed, N failed, N skipped'), each tier's count and time before it", () => {
    assert.deepEqual(
      totalLines([
        { name: 'unit', summary: tier(300, { tests: 304, skipped: 3, todo: 1, durationMs: 41_000 }) },
        { name: 'integration', summary: tier(150, { durationMs: 182_400 }) },
        { name: 'clients', summary: tier(48, { tests: 50, fail: 1, cancelled: 1, durationMs: 110_000 }) },
      ]),
      [
        'tiers: unit 304 tests (4 skipped) in 41 s · integration 150 tests in 3 min 2 s · clients 50 tests in 1 min 50 s',
        'total: 498 passed, 2 failed, 4 skipped',
      ],
    );
  });

  it('says which tier failed and stopped the run, counting those that ran', () => {
    assert.deepEqual(
      totalLines(
        [
          { name: 'unit', summary: tier(10) },
          { name: 'integration', summary: undefined },
        ],
        'integration',
      ),
      [
        'tiers: unit 10 tests in 1 s · integration (no summary); the integration tier failed, the next ones did not run',
        'total: 10 passed, 0 failed, 0 skipped',
      ],
    );
  });
});

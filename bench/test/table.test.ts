import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { num, table } from '../src/table.js';

describe('table', () => {
  it('prints a Markdown table whose columns line up, numbers right-aligned', () => {
    const text = table(
      ['system', 'p99 ms'],
      [
        ['Switchboard', '1.5'],
        ['naive', '12.0'],
      ],
    );
    assert.equal(
      text,
      ['| system      | p99 ms |', '|:------------|-------:|', '| Switchboard |    1.5 |', '| naive       |   12.0 |'].join('\n'),
    );
  });

  it('formats numbers with separators, and anything not finite as a dash', () => {
    assert.equal(num(60_000), '60,000');
    assert.equal(num(7.25, 1), '7.3');
    assert.equal(num(NaN), '-');
    assert.equal(num(undefined), '-');
  });
});

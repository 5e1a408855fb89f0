import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TABLE_END, integer, markdownTable, setting, tableIn, tableStart, text, withSettingsTable } from '@switchboard/config';

const one = { source: 'one/settings.ts', settings: { rounds: setting({ env: 'ROUNDS', kind: integer(1, 9), default: 1, doc: 'a | b' }) } };
const two = { source: 'two/settings.ts', settings: { ca: setting({ flag: '--ca', kind: text(), doc: 'an authority' }) } };

describe('README tables', () => {
  it('are Markdown tables of variable, flag, default and meaning, with pipes escaped', () => {
    assert.equal(
      markdownTable(one.settings),
      [
        '| variable | flag | default | meaning, and what happens past a limit |',
        '|---|---|---|---|',
        '| `ROUNDS` | `--rounds` | `1` | a \\| b |',
      ].join('\n'),
    );
    assert.equal(markdownTable(two.settings).split('\n')[2], '|  | `--ca` | unset | an authority |');
  });

  it('are each rewritten between their own markers, the rest of the README kept', () => {
    const readme = ['# Demo', tableStart(one.source), 'old', TABLE_END, 'between', tableStart(two.source), TABLE_END, 'end'].join('\n');
    const updated = withSettingsTable(withSettingsTable(readme, one), two);
    assert.equal(tableIn(updated, one), markdownTable(one.settings));
    assert.equal(tableIn(updated, two), markdownTable(two.settings));
    assert.ok(updated.startsWith('# Demo\n') && updated.includes(`${TABLE_END}\nbetween\n`) && updated.endsWith(`${TABLE_END}\nend`));
    assert.equal(withSettingsTable(updated, one), updated, 'a table already up to date is left as it is');
  });

  it('need their markers in the README', () => {
    assert.equal(tableIn('# Demo', one), undefined);
    assert.throws(() => withSettingsTable(`${tableStart(one.source)}\n`, one), /README\.md needs the markers/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { integer, setting, text } from '@switchboard/config';

describe('setting', () => {
  it('spells the flag after the variable unless the flag is given', () => {
    assert.equal(setting({ env: 'MAX_MESSAGE_BYTES', kind: integer(1, 9), default: 1, doc: 'x' }).flag, '--max-message-bytes');
    assert.equal(setting({ env: 'SWITCHBOARD_URL', flag: '--url', kind: text(), doc: 'x' }).flag, '--url');
  });

  it('shows a default as itself, unless its doc says otherwise, and an optional one as unset', () => {
    assert.equal(setting({ env: 'N', kind: integer(1, 9), default: 3, doc: 'x' }).defaultDoc, '`3`');
    assert.equal(setting({ env: 'N', kind: integer(1, 9), default: 3, defaultDoc: 'three', doc: 'x' }).defaultDoc, 'three');
    assert.equal(setting({ env: 'N', kind: integer(1, 9), doc: 'x' }).defaultDoc, 'unset');
  });

  it('refuses --help, which every command keeps for itself', () => {
    assert.throws(
      () => setting({ flag: '--help', kind: text(), doc: 'x' }),
      new TypeError("--help is every command's own flag, not a setting"),
    );
  });
});

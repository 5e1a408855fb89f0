import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { helpRows, helpText, integer, setting, text } from '@switchboard/config';

describe('helpText', () => {
  const settings = {
    rounds: setting({ env: 'ROUNDS', kind: integer(1, 9), default: 1, unit: 'rounds', doc: 'how many `rounds`' }),
    ca: setting({ flag: '--ca', kind: text(), defaultDoc: 'unset (the usual authorities)', doc: 'an authority' }),
  };

  it('lists each setting with its flag, variable, meaning without backticks, default, unit and accepted values', () => {
    const help = helpText('demo [options]', settings);
    assert.equal(
      help,
      [
        'Usage: demo [options]',
        '',
        'An option with an environment variable named beside it is also read from it; a flag wins.',
        'An empty variable counts as unset.',
        '',
        `  ${'--rounds / ROUNDS'.padEnd(46)} how many rounds.`,
        `  ${''.padEnd(46)} default: 1 rounds; a whole number from 1 to 9`,
        `  ${'--ca'.padEnd(46)} an authority.`,
        `  ${''.padEnd(46)} default: unset (the usual authorities); any text`,
        `  ${'--help, -h'.padEnd(46)} Show this help.`,
        '',
      ].join('\n'),
    );
  });

  it('says every option has a variable when each has one', () => {
    assert.match(
      helpText('demo', { rounds: settings.rounds }),
      /^Every option is also read from the environment variable named beside it; a flag wins\.$/m,
    );
  });

  it('gives the rows alone, for a help that says more around them', () => {
    assert.equal(helpRows(settings).split('\n').length, 4);
    assert.ok(helpText('demo', settings).includes(helpRows(settings)));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConfigError,
  UnknownOptionError,
  integer,
  readCommandLine,
  readSettings,
  schemaOf,
  setting,
  text,
  yesNo,
} from '@switchboard/config';

const SETTINGS = {
  url: setting({ env: 'DEMO_URL', flag: '--url', kind: text(), default: 'ws://x', doc: 'where' }),
  ca: setting({ flag: '--ca', kind: text(), doc: 'an authority' }),
  notices: setting({ env: 'NOTICES', kind: yesNo(), default: false, doc: 'announce' }),
  rounds: setting({ env: 'ROUNDS', kind: integer(1, 9), default: 1, doc: 'rounds' }),
};
const schema = schemaOf(SETTINGS);
const read = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const config = readSettings(SETTINGS, schema, argv, env);
  assert.notEqual(config, 'help');
  return config as Exclude<typeof config, 'help'>;
};
const readWords = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const line = readCommandLine(SETTINGS, schema, argv, env);
  assert.notEqual(line, 'help');
  return line as Exclude<typeof line, 'help'>;
};

describe('readSettings', () => {
  it('reads a flag named apart from its variable, under its own name and from the variable', () => {
    assert.equal(SETTINGS.url.flag, '--url');
    assert.equal(read(['--url', 'ws://a']).url, 'ws://a');
    assert.equal(read([], { DEMO_URL: 'ws://b' }).url, 'ws://b');
    assert.equal(read(['--url=ws://c'], { DEMO_URL: 'ws://b' }).url, 'ws://c');
    assert.throws(() => read(['--demo-url', 'ws://d']), new ConfigError('unknown option --demo-url (see --help)'));
  });

  it('reads a setting that has a flag and no variable, and names the flag in its refusal', () => {
    assert.equal(SETTINGS.ca.env, undefined);
    assert.equal(read(['--ca', '/ca.pem']).ca, '/ca.pem');
    assert.equal(read([], { CA: '/ca.pem' }).ca, undefined);
    assert.throws(() => read(['--ca=']), new ConfigError('--ca must not be empty'));
  });

  it('reads a yes-or-no flag given alone as yes, and given a value as that value', () => {
    assert.equal(read([]).notices, false);
    assert.equal(read(['--notices']).notices, true);
    assert.equal(read(['--notices', '--rounds', '2']).rounds, 2, 'a flag given alone takes no value from the next word');
    assert.equal(read(['--notices=no'], { NOTICES: '1' }).notices, false);
    assert.equal(read([], { NOTICES: 'On' }).notices, true);
    assert.throws(
      () => read([], { NOTICES: 'maybe' }),
      new ConfigError('NOTICES must be yes or no (or true, 1, on / false, 0, off), got "maybe"'),
    );
  });

  it('refuses every word that is not a flag as an unknown option, which says which word', () => {
    assert.throws(() => read(['ada']), new ConfigError('unknown option ada (see --help)'));
    assert.throws(
      () => read(['--loud=1']),
      (err: unknown) => err instanceof UnknownOptionError && err instanceof ConfigError && err.word === '--loud=1',
    );
  });
});

describe('readCommandLine', () => {
  it('gives back the words that are not flags, in order, beside the settings', () => {
    assert.deepEqual(readWords(['ada', '--rounds', '3', 'bob']), {
      config: { url: 'ws://x', notices: false, rounds: 3 },
      words: ['ada', 'bob'],
    });
    assert.deepEqual(readWords(['--url=ws://y']).words, []);
  });

  it('takes every word after -- as a word, even one that looks like a flag', () => {
    assert.deepEqual(readWords(['--', '--rounds', '-x']).words, ['--rounds', '-x']);
  });

  it('still refuses an unknown flag, and answers --help', () => {
    assert.throws(() => readWords(['ada', '--loud']), new ConfigError('unknown option --loud (see --help)'));
    assert.throws(() => readWords(['--url']), new ConfigError('--url needs a value'));
    assert.equal(readCommandLine(SETTINGS, schema, ['ada', '-h'], {}), 'help');
  });
});

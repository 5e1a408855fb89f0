import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '@switchboard/config';
import { SETTINGS, helpText, loadOptions, type Options } from '../src/options.js';

const load = (argv: string[], env: NodeJS.ProcessEnv = {}) => loadOptions(argv, env) as Options;

describe('the bench options', () => {
  it('default to the three scenarios of a full run, each system its scenario chooses, and 200 and 400 lines/s', () => {
    const options = load([]);
    assert.deepEqual(options.scenario, ['fanout', 'join', 'reconnect']);
    assert.equal(options.systems, undefined);
    assert.equal(options.clients, undefined);
    assert.deepEqual(options.rate, [200, 400]);
    assert.deepEqual(
      [options.duration, options.warmup, options.drain, options.senders, options.bytes, options.nodes, options.workers],
      [20, 3, 15, 5, 64, 3, 1],
    );
    assert.deepEqual([options.quietWait, options.retries, options.rounds, options.joinNotices], [300, 1, 1, false]);
  });

  it("read the README's examples", () => {
    const options = load(['--scenario', 'fanout', '--rate', '200', '--systems', 'switchboard,socketio', '--rounds', '5']);
    assert.deepEqual(
      [options.scenario, options.rate, options.systems, options.rounds],
      [['fanout'], [200], ['switchboard', 'socketio'], 5],
    );
    assert.deepEqual(load(['--scenario', 'join', '--clients', '10000']).clients, [10000]);
    assert.deepEqual(load(['--scenario=rooms']).scenario, ['rooms']);
  });

  it('name the reference systems socketio-cluster and nchan, and take the nginx binary from NGINX_BIN', () => {
    assert.deepEqual(load(['--systems', 'switchboard-cluster,socketio-cluster,nchan']).systems, [
      'switchboard-cluster',
      'socketio-cluster',
      'nchan',
    ]);
    assert.equal(load([]).nginx, 'nginx');
    assert.equal(load([], { NGINX_BIN: '/opt/nginx/sbin/nginx' }).nginx, '/opt/nginx/sbin/nginx');
  });

  it('read each from its variable too, a flag winning, and a flag given alone as yes', () => {
    const env = { RATE: '50,100', DURATION_S: '0.5', QUIET_WAIT_S: '0', JOIN_NOTICES: '1', STORM_S: '7' };
    const options = load(['--storm-duration', '8'], env);
    assert.deepEqual(
      [options.rate, options.duration, options.quietWait, options.joinNotices, options.stormDuration],
      [[50, 100], 0.5, 0, true, 8],
    );
    assert.equal(load(['--join-notices']).joinNotices, true);
  });

  it('take the A/B build of switchboard-b from B_ENTRY, B_NODE_FLAGS and B_ENV', () => {
    const entry = join(mkdtempSync(join(tmpdir(), 'switchboard-bench-')), 'main.js');
    writeFileSync(entry, '');
    const env = { B_ENTRY: entry, B_NODE_FLAGS: '-', B_ENV: 'WRITE_COALESCE_MS=0 NODE_OPTIONS=--max-old-space-size=64' };
    const options = load([], env);
    assert.deepEqual([options.bEntry, options.bNodeFlags, options.bEnv], [entry, '-', env.B_ENV]);
    assert.throws(
      () => load([], { B_ENTRY: `${entry}.missing` }),
      new ConfigError(`B_ENTRY must be the path of a readable file, got "${entry}.missing"`),
    );
  });

  it('refuse a bad value at once, naming the flag or variable', () => {
    assert.throws(
      () => load(['--scenario', 'fanout,joins']),
      new ConfigError('--scenario must be a comma-separated list, each one of fanout, join, reconnect, rooms, model, got "fanout,joins"'),
    );
    assert.throws(
      () => load([], { SYSTEMS: 'switchboard,socket.io' }),
      new ConfigError(
        'SYSTEMS must be a comma-separated list, each one of switchboard, switchboard-cluster, switchboard-b, socketio, socketio-cluster, nchan, naive, got "switchboard,socket.io"',
      ),
    );
    assert.throws(
      () => load(['--rate=0']),
      new ConfigError('--rate must be a comma-separated list, each a number above 0, at most 1000000, got "0"'),
    );
    assert.throws(
      () => load(['--clients', '2.5']),
      new ConfigError('--clients must be a comma-separated list, each a whole number from 1 to 1000000, got "2.5"'),
    );
    assert.throws(
      () => load([], { JOIN_NOTICES: 'sometimes' }),
      new ConfigError('JOIN_NOTICES must be yes or no (or true, 1, on / false, 0, off), got "sometimes"'),
    );
    assert.throws(() => load(['--rate']), new ConfigError('--rate needs a value'));
    assert.throws(() => load(['--bogus']), new ConfigError('unknown option --bogus (see --help)'));
  });

  it('are all in --help with their flag, variable, default and what they accept', () => {
    assert.equal(loadOptions(['-h'], { RATE: 'bad' }), 'help');
    const help = helpText();
    assert.match(help, /^Usage: npm run bench -- \[options\]$/m);
    for (const s of Object.values(SETTINGS)) {
      const at = help.indexOf(`  ${s.flag} / ${s.env} `);
      assert.ok(at !== -1, `${s.flag} is in --help`);
      const entry = help.slice(at).split('\n').slice(0, 2).join('\n');
      assert.ok(
        entry.includes(`default: ${s.defaultDoc.replaceAll('`', '')}`) && entry.includes(s.expects),
        `${s.flag}: its default and values`,
      );
    }
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as protocol from '@switchboard/protocol';
import { markdownTable, tableIn, withSettingsTable } from '@switchboard/config';
import {
  ConfigError,
  README_TABLE,
  SETTINGS,
  clientLimits,
  defaultConfig,
  helpText,
  loadConfig,
  type Config,
} from '../../src/config/gateway-config.js';

const load = (argv: string[], env: NodeJS.ProcessEnv = {}) => loadConfig(argv, env) as Config;
const README = fileURLToPath(new URL('../../../../README.md', import.meta.url));

describe('loadConfig', () => {
  it('uses the documented defaults: port 8080, in-memory bus, and the protocol limits', () => {
    const config = load([]);
    assert.equal(config.port, 8080);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.maxMessageBytes, protocol.MAX_MESSAGE_BYTES);
    assert.equal(config.pingIntervalMs, protocol.PING_INTERVAL_MS);
    assert.equal(config.pongTimeoutMs, protocol.PONG_TIMEOUT_MS);
    assert.equal(config.maxBufferedBytes, protocol.MAX_BUFFERED_BYTES);
    assert.equal(config.messageRatePerSec, protocol.MESSAGE_RATE_PER_SEC);
    assert.equal(config.messageBurst, protocol.MESSAGE_BURST);
    assert.equal(config.resumeGraceMs, protocol.RESUME_GRACE_MS);
    assert.equal(config.resumeMaxEvents, protocol.RESUME_MAX_EVENTS);
    assert.equal(config.helloTimeoutMs, protocol.HELLO_TIMEOUT_MS);
    assert.equal(config.historyMaxEvents, protocol.HISTORY_MAX_EVENTS);
    assert.equal(config.historyMaxAgeMs, protocol.HISTORY_MAX_AGE_MS);
  });

  it('gives every process its own node id by default', () => {
    assert.notEqual(load([]).nodeId, load([]).nodeId);
  });

  it('starts a default node id with NODE_NAME (the hostname unless set), then a dash and letters and digits only', async () => {
    const { hostname } = await import('node:os');
    assert.match(load([]).nodeId, new RegExp(`^${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[0-9A-Za-z]{6}$`));
    const named = load([], { NODE_NAME: 'switchboard_gateway.2.k3j2' });
    assert.equal(named.nodeName, 'switchboard_gateway.2.k3j2');
    assert.match(named.nodeId, /^switchboard_gateway\.2\.k3j2-[0-9A-Za-z]{6}$/);
    assert.equal(named.nodeId.slice(0, named.nodeId.lastIndexOf('-')), named.nodeName, 'the name is all before the last dash');
    assert.equal(load([], { NODE_NAME: 'a', NODE_ID: 'given' }).nodeId, 'given');
  });

  it("finds no container name for a hostname that is a name already (Docker's DNS is asked only for a container id)", async () => {
    const { containerName } = await import('../../src/config/container-name.js');
    assert.equal(await containerName('laptop'), undefined);
    assert.equal(await containerName('gateway-7d9f8b-x2x4q'), undefined);
  });

  it('reads environment variables, and a flag wins over its variable', () => {
    const env = { PORT: '9000', REDIS_URL: 'redis://127.0.0.1:6380', NODE_ID: 'n1' };
    assert.equal(load([], env).port, 9000);
    assert.equal(load([], env).redisUrl, 'redis://127.0.0.1:6380');
    assert.equal(load(['--port', '9001'], env).port, 9001);
    assert.equal(load(['--port=9002', '--node-id=n2'], env).nodeId, 'n2');
    assert.equal(load(['--port', '1', '--port', '2']).port, 2, 'the last of a repeated flag wins');
  });

  it('treats an empty variable as unset', () => {
    const config = load([], { PORT: '', REDIS_URL: '', LOG_LEVEL: '' });
    assert.equal(config.port, 8080);
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.logLevel, 'info');
  });

  it('trims values and reads a log level in any case', () => {
    const config = load([], { PORT: ' 9000 ', LOG_LEVEL: 'DEBUG', REDIS_URL: ' rediss://cache:6380/1 ' });
    assert.equal(config.port, 9000);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.redisUrl, 'rediss://cache:6380/1');
  });

  it('names the setting, as given, in the error for a bad value', () => {
    assert.throws(() => load([], { PORT: 'eighty' }), new ConfigError('PORT must be a whole number from 0 to 65535, got "eighty"'));
    assert.throws(
      () => load([], { MAX_MESSAGE_BYTES: 'lots' }),
      new ConfigError('MAX_MESSAGE_BYTES must be a whole number from 1 to 1048576, got "lots"'),
    );
    assert.throws(
      () => load(['--max-message-bytes', '-1']),
      new ConfigError('--max-message-bytes must be a whole number from 1 to 1048576, got "-1"'),
    );
    assert.throws(() => load(['--port=70000']), new ConfigError('--port must be a whole number from 0 to 65535, got "70000"'));
    assert.throws(
      () => load([], { REDIS_URL: 'http://x' }),
      new ConfigError('REDIS_URL must be a redis:// or rediss:// URL, got "http://x"'),
    );
    assert.throws(() => load([], { REDIS_URL: 'not a url' }), /REDIS_URL must be a redis:\/\//);
    assert.throws(
      () => load([], { LOG_LEVEL: 'loud' }),
      new ConfigError('LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"'),
    );
    assert.throws(() => load([], { HOST: '   ' }), new ConfigError('HOST must not be empty'));
    assert.throws(() => load(['--host='], { HOST: 'x' }), new ConfigError('--host must not be empty'));
  });

  it('reports the first bad setting in the order of the table', () => {
    assert.throws(() => load([], { SWEEP_INTERVAL_MS: 'x', PORT: 'y' }), /^ConfigError: PORT /);
  });

  it('turns what parseArgs finds in the command line into exit-2 messages', () => {
    assert.throws(() => load(['--bogus']), new ConfigError('unknown option --bogus (see --help)'));
    assert.throws(() => load(['--bogus=1']), new ConfigError('unknown option --bogus=1 (see --help)'));
    assert.throws(() => load(['-x']), new ConfigError('unknown option -x (see --help)'));
    assert.throws(() => load(['8080']), new ConfigError('unknown option 8080 (see --help)'));
    assert.throws(() => load(['--', '--port=1']), new ConfigError('unknown option -- (see --help)'));
    assert.throws(() => load(['--port']), new ConfigError('--port needs a value'));
    assert.throws(
      () => load(['--port', '--help']),
      /--port must be a whole number .*, got "--help"/,
      'a flag takes the next argument as its value',
    );
  });

  it('reads REDIS_SENTINELS as host:port pairs, with the master name switchboard unless told, and passwords only when given', () => {
    const config = load([], { REDIS_SENTINELS: 'sentinel-1:26379, sentinel-2:26380' });
    assert.deepEqual(config.redisSentinels, [
      { host: 'sentinel-1', port: 26379 },
      { host: 'sentinel-2', port: 26380 },
    ]);
    assert.equal(config.redisSentinelName, 'switchboard');
    assert.equal(config.redisSentinelPassword, undefined);
    assert.equal(config.redisPassword, undefined);
    const named = load([], { REDIS_SENTINELS: 's:1', REDIS_SENTINEL_NAME: 'chat', REDIS_SENTINEL_PASSWORD: 'a', REDIS_PASSWORD: 'b' });
    assert.deepEqual([named.redisSentinelName, named.redisSentinelPassword, named.redisPassword], ['chat', 'a', 'b']);
    assert.throws(
      () => load([], { REDIS_SENTINELS: 'sentinel-1' }),
      /^ConfigError: REDIS_SENTINELS must be a comma-separated list, each host:port, got "sentinel-1"/,
    );
  });

  it('refuses two ways to reach Redis at once, naming them', () => {
    const url = { REDIS_URL: 'redis://127.0.0.1:6379' };
    const cluster = { REDIS_CLUSTER: '127.0.0.1:7000' };
    const sentinels = { REDIS_SENTINELS: '127.0.0.1:26379' };
    assert.throws(() => load([], { ...url, ...cluster }), new ConfigError('set REDIS_URL or REDIS_CLUSTER, not both'));
    assert.throws(() => load([], { ...cluster, ...sentinels }), new ConfigError('set REDIS_CLUSTER or REDIS_SENTINELS, not both'));
    assert.throws(() => load([], { ...url, ...sentinels }), new ConfigError('set REDIS_URL or REDIS_SENTINELS, not both'));
    assert.throws(
      () => load([], { ...url, ...cluster, ...sentinels }),
      new ConfigError('set REDIS_URL or REDIS_CLUSTER or REDIS_SENTINELS, not more than one'),
    );
  });

  it('refuses a pong timeout that does not exceed the ping interval', () => {
    assert.throws(
      () => load([], { PING_INTERVAL_MS: '1000', PONG_TIMEOUT_MS: '1000' }),
      new ConfigError('PONG_TIMEOUT_MS (1000) must be greater than PING_INTERVAL_MS (1000)'),
    );
    assert.throws(() => load(['--ping-interval-ms=70000']), /PONG_TIMEOUT_MS \(60000\) must be greater than PING_INTERVAL_MS \(70000\)/);
  });

  it('refuses a shard probe timeout shorter than two probe intervals (one late probe must not make a shard look silent)', () => {
    assert.deepEqual(
      [load([]).shardProbeIntervalMs, load([]).shardProbeTimeoutMs, load([]).topologyRefreshIntervalMs],
      [1_000, 3_000, 3_000],
    );
    assert.throws(
      () => load([], { SHARD_PROBE_INTERVAL_MS: '2000', SHARD_PROBE_TIMEOUT_MS: '3000' }),
      new ConfigError('SHARD_PROBE_TIMEOUT_MS (3000) must be at least twice SHARD_PROBE_INTERVAL_MS (2000)'),
    );
    assert.equal(load(['--shard-probe-timeout-ms=4000'], { SHARD_PROBE_INTERVAL_MS: '2000' }).shardProbeTimeoutMs, 4_000);
  });

  it("derives the rooms' lifetimes from RESUME_GRACE_MS and HISTORY_MAX_AGE_MS unless told, and refuses ones shorter than a resume needs", () => {
    assert.deepEqual([load([]).roomTtlMs, load([]).roomHistoryTtlMs], [protocol.RESUME_GRACE_MS + 15_000, protocol.HISTORY_MAX_AGE_MS]);
    const followed = load([], { RESUME_GRACE_MS: '120000', HISTORY_MAX_AGE_MS: '60000' });
    assert.deepEqual(
      [followed.roomTtlMs, followed.roomHistoryTtlMs],
      [135_000, 135_000],
      'never shorter than the grace, nor the history than the room',
    );
    const told = load(['--room-ttl-ms=5000', '--room-history-ttl-ms=9000'], { RESUME_GRACE_MS: '1000' });
    assert.deepEqual([told.roomTtlMs, told.roomHistoryTtlMs], [5_000, 9_000]);
    assert.throws(
      () => load([], { ROOM_TTL_MS: '30000' }),
      new ConfigError(
        'ROOM_TTL_MS (30000) must be greater than RESUME_GRACE_MS (30000): a session resuming into its room would find it forgotten',
      ),
    );
    assert.throws(
      () => load([], { ROOM_HISTORY_TTL_MS: '40000' }),
      new ConfigError('ROOM_HISTORY_TTL_MS (40000) must be at least ROOM_TTL_MS (45000)'),
    );
  });

  it('answers --help and -h before looking at any value, but after an unknown flag', () => {
    assert.equal(loadConfig(['--help'], {}), 'help');
    assert.equal(loadConfig(['-h'], { PORT: 'bad' }), 'help');
    assert.equal(loadConfig(['--port', 'bad', '--help'], {}), 'help');
    assert.throws(() => loadConfig(['--bogus', '--help'], {}), /unknown option --bogus/);
  });
});

describe('the settings', () => {
  it('have one variable and one flag each, the flag spelled after the variable', () => {
    const all = Object.values(SETTINGS);
    assert.equal(new Set(all.map((s) => s.env)).size, all.length);
    for (const s of all) assert.equal(s.flag, `--${s.env.toLowerCase().replaceAll('_', '-')}`);
    assert.ok(!all.some((s) => s.flag === '--help'));
  });

  it('are all listed in --help with their flag, variable, meaning, default and accepted values', () => {
    const help = helpText();
    for (const s of Object.values(SETTINGS)) {
      const at = help.indexOf(`${s.flag} / ${s.env} `);
      assert.ok(at !== -1, `${s.env} is in --help`);
      const entry = help.slice(at).split('\n').slice(0, 2).join('\n');
      assert.ok(entry.includes(s.doc.replaceAll('`', '')), `${s.env}: its meaning`);
      assert.ok(entry.includes(`default: ${s.defaultDoc.replaceAll('`', '')}`), `${s.env}: its default`);
      assert.ok(entry.includes(s.expects), `${s.env}: what it accepts`);
    }
    assert.match(help, /--help, -h/);
  });

  it('are the configuration table of README.md (run `npm run docs:config` after changing one)', () => {
    const readme = readFileSync(README, 'utf8');
    assert.equal(tableIn(readme, README_TABLE), markdownTable(SETTINGS));
    assert.equal(withSettingsTable(readme, README_TABLE), readme);
  });

  it('give clients the limits of the live configuration', () => {
    const limits = clientLimits(load(['--max-message-bytes=256'], { MESSAGE_RATE_PER_SEC: '5', MESSAGE_BURST: '7' }));
    assert.deepEqual(limits, {
      maxMessageBytes: 256,
      messageRatePerSec: 5,
      messageBurst: 7,
      maxNicknameLength: protocol.MAX_NICKNAME_LENGTH,
    });
    assert.equal(clientLimits(defaultConfig()).maxMessageBytes, protocol.MAX_MESSAGE_BYTES);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, SETTINGS, helpText, loadConfig, type Config } from '../../src/config.js';

const load = (argv: string[], env: NodeJS.ProcessEnv = {}) => loadConfig(argv, env) as Config;

describe('loadConfig', () => {
  it('uses the documented defaults: port 8080, in-memory bus, 512-byte frames, seed heartbeat', () => {
    const config = load([]);
    assert.equal(config.port, 8080);
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.maxMessageBytes, 512);
    assert.equal(config.pingIntervalMs, 54_000);
    assert.equal(config.pongTimeoutMs, 60_000);
    assert.equal(config.maxBufferedBytes, 1024 * 1024);
  });

  it('gives every process its own node id by default', () => {
    assert.notEqual(load([]).nodeId, load([]).nodeId);
  });

  it('reads environment variables, and a flag wins over its variable', () => {
    const env = { PORT: '9000', REDIS_URL: 'redis://127.0.0.1:6380', NODE_ID: 'n1' };
    assert.equal(load([], env).port, 9000);
    assert.equal(load([], env).redisUrl, 'redis://127.0.0.1:6380');
    assert.equal(load(['--port', '9001'], env).port, 9001);
    assert.equal(load(['--port=9002', '--node-id=n2'], env).nodeId, 'n2');
  });

  it('names the setting in the error for a bad value', () => {
    assert.throws(() => load([], { PORT: 'eighty' }), new ConfigError('PORT must be a whole number from 0 to 65535, got "eighty"'));
    assert.throws(() => load(['--max-message-bytes', '-1']), /--max-message-bytes must be a whole number/);
    assert.throws(() => load([], { REDIS_URL: 'http://x' }), /REDIS_URL must be a redis:\/\//);
    assert.throws(() => load([], { LOG_LEVEL: 'loud' }), /LOG_LEVEL must be one of/);
    assert.throws(() => load(['--bogus']), /unknown option --bogus/);
    assert.throws(() => load(['--port']), /--port needs a value/);
  });

  it('refuses a pong timeout that does not exceed the ping interval', () => {
    assert.throws(() => load([], { PING_INTERVAL_MS: '1000', PONG_TIMEOUT_MS: '1000' }), /PONG_TIMEOUT_MS \(1000\) must be greater/);
  });

  it('lists every setting with its variable and default in --help', () => {
    assert.equal(loadConfig(['--help'], {}), 'help');
    const help = helpText();
    for (const s of SETTINGS) {
      assert.ok(help.includes(s.env) && help.includes(s.flag), `${s.env} is in --help`);
    }
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ConfigError,
  integer,
  list,
  number,
  oneOf,
  port,
  positiveNumber,
  readSettings,
  readableFile,
  schemaOf,
  setting,
  text,
  url,
} from '@switchboard/config';

describe('setting kinds', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'switchboard-config-')), 'cert.pem');
  writeFileSync(file, 'not really a certificate');
  const demo = {
    allowedOrigins: setting({ env: 'ALLOWED_ORIGINS', kind: list(), default: ['*'], doc: 'origins' }),
    trustedProxies: setting({ env: 'TRUSTED_PROXIES', kind: list(text()), doc: 'proxies' }),
    maxConnections: setting({ env: 'MAX_CONNECTIONS', kind: integer(1, 100), default: 10, doc: 'connections' }),
    metricsPort: setting({ env: 'METRICS_PORT', kind: port(), doc: 'metrics' }),
    tlsCert: setting({ env: 'TLS_CERT', kind: readableFile(), doc: 'certificate' }),
    mode: setting({ env: 'MODE', kind: oneOf(['fast', 'safe']), default: 'safe', doc: 'mode' }),
    upstream: setting({ env: 'UPSTREAM', kind: url(['http', 'https']), doc: 'upstream' }),
  };
  const schema = schemaOf(demo);
  const read = (env: NodeJS.ProcessEnv, argv: string[] = []) => {
    const config = readSettings(demo, schema, argv, env);
    assert.notEqual(config, 'help');
    return config as Exclude<typeof config, 'help'>;
  };

  it('are each one declaration: defaults, optional values and types follow from it', () => {
    const config = read({});
    assert.deepEqual(config, { allowedOrigins: ['*'], maxConnections: 10, mode: 'safe' });
    const typed: { metricsPort?: number | undefined; mode: 'fast' | 'safe'; allowedOrigins: string[] } = config;
    assert.ok(typed);
    assert.equal(demo.metricsPort.defaultDoc, 'unset');
    assert.equal(demo.allowedOrigins.flag, '--allowed-origins');
  });

  it('read a comma-separated list, dropping blanks, and refuse an empty one', () => {
    assert.deepEqual(read({ ALLOWED_ORIGINS: ' https://a.example, ,https://b.example ' }).allowedOrigins, [
      'https://a.example',
      'https://b.example',
    ]);
    assert.deepEqual(read({}, ['--trusted-proxies=10.0.0.0/8']).trustedProxies, ['10.0.0.0/8']);
    assert.throws(
      () => read({ ALLOWED_ORIGINS: ' , ' }),
      new ConfigError('ALLOWED_ORIGINS must be a comma-separated list, each any text, got " , "'),
    );
  });

  it('check list items with the kind of the item', () => {
    const ports = { ports: setting({ env: 'PORTS', kind: list(port()), doc: 'ports' }) };
    assert.deepEqual(readSettings(ports, schemaOf(ports), [], { PORTS: '1,2' }), { ports: [1, 2] });
    assert.throws(
      () => readSettings(ports, schemaOf(ports), [], { PORTS: '1,x' }),
      new ConfigError('PORTS must be a comma-separated list, each a whole number from 0 to 65535, got "1,x"'),
    );
  });

  it('read an optional port, and refuse one out of range', () => {
    assert.equal(read({ METRICS_PORT: '9100' }).metricsPort, 9100);
    assert.throws(
      () => read({ METRICS_PORT: '65536' }),
      new ConfigError('METRICS_PORT must be a whole number from 0 to 65535, got "65536"'),
    );
  });

  it('accept a file that exists and refuse one that does not', () => {
    assert.equal(read({ TLS_CERT: file }).tlsCert, file);
    assert.throws(
      () => read({}, ['--tls-cert', `${file}.missing`]),
      new ConfigError(`--tls-cert must be the path of a readable file, got "${file}.missing"`),
    );
    assert.throws(() => read({ TLS_CERT: tmpdir() }), /TLS_CERT must be the path of a readable file/, 'a folder is not a file');
  });

  it('read one of a fixed set and a URL of the given schemes', () => {
    assert.equal(read({ MODE: 'Fast' }).mode, 'fast');
    assert.throws(() => read({ MODE: 'slow' }), new ConfigError('MODE must be one of fast, safe, got "slow"'));
    assert.equal(read({ UPSTREAM: 'https://example.com/x' }).upstream, 'https://example.com/x');
    assert.throws(
      () => read({ UPSTREAM: 'ftp://example.com' }),
      new ConfigError('UPSTREAM must be a http:// or https:// URL, got "ftp://example.com"'),
    );
  });

  it('read numbers with a fraction, in range; a positive one refuses 0', () => {
    const numbers = {
      wait: setting({ env: 'WAIT_S', kind: number(0, 600), default: 300, doc: 'wait' }),
      rate: setting({ env: 'RATE', kind: list(positiveNumber(100_000)), default: [200, 400], doc: 'rate' }),
    };
    const readNumbers = (env: NodeJS.ProcessEnv) => readSettings(numbers, schemaOf(numbers), [], env);
    assert.deepEqual(readNumbers({ WAIT_S: '0', RATE: '0.5, 20' }), { wait: 0, rate: [0.5, 20] });
    assert.throws(() => readNumbers({ WAIT_S: '601' }), new ConfigError('WAIT_S must be a number from 0 to 600, got "601"'));
    assert.throws(() => readNumbers({ WAIT_S: '-1' }), new ConfigError('WAIT_S must be a number from 0 to 600, got "-1"'));
    assert.throws(
      () => readNumbers({ RATE: '200,0' }),
      new ConfigError('RATE must be a comma-separated list, each a number above 0, at most 100000, got "200,0"'),
    );
    assert.throws(
      () => readNumbers({ RATE: '1e3' }),
      new ConfigError('RATE must be a comma-separated list, each a number above 0, at most 100000, got "1e3"'),
    );
  });
});

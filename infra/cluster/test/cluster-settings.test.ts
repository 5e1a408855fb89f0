import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, markdownTable, tableIn, withSettingsTable } from '@switchboard/config';
import { README_TABLE, SETTINGS, helpText, loadClusterSettings, type ClusterSettings } from '../src/cluster-settings.js';

const load = (env: NodeJS.ProcessEnv, argv: string[] = []) => loadClusterSettings(argv, env) as ClusterSettings;
const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

describe('npm run cluster settings', () => {
  it('default to 3 gateways, HAProxy on 127.0.0.1:8080 without TLS, and one redis-server', () => {
    assert.deepEqual(load({}), { gateways: 3, lbPort: 8080, lbHost: '127.0.0.1', redisMasters: 0 });
  });

  it("read the README's examples from the environment, and the same as flags", () => {
    const pem = join(mkdtempSync(join(tmpdir(), 'switchboard-cluster-')), 'switchboard.pem');
    writeFileSync(pem, 'certificate, chain and key');
    assert.deepEqual(load({ GATEWAYS: '5', LB_PORT: '9000' }), { gateways: 5, lbPort: 9000, lbHost: '127.0.0.1', redisMasters: 0 });
    assert.equal(load({ LB_TLS_CERT: pem, LB_HTTP_PORT: '0' }).lbTlsCert, pem);
    assert.equal(load({ REDIS_MASTERS: '3' }).redisMasters, 3);
    assert.equal(load({ GATEWAYS: '5' }, ['--gateways', '2', '--lb-host=0.0.0.0']).gateways, 2, 'a flag wins');
    assert.equal(load({ LB_HOST: '' }).lbHost, '127.0.0.1', 'an empty variable is unset');
  });

  it('refuse a bad value with a message naming the setting', () => {
    assert.throws(() => load({ GATEWAYS: '17' }), new ConfigError('GATEWAYS must be a whole number from 1 to 16, got "17"'));
    assert.throws(() => load({ LB_PORT: 'http' }), new ConfigError('LB_PORT must be a whole number from 0 to 65535, got "http"'));
    assert.throws(
      () => load({ LB_TLS_CERT: '/no/such.pem' }),
      new ConfigError('LB_TLS_CERT must be the path of a readable file, got "/no/such.pem"'),
    );
    assert.throws(
      () => load({ REDIS_MASTERS: '2' }),
      new ConfigError('REDIS_MASTERS must be 0 (one redis-server) or a whole number from 3 to 16, got "2"'),
    );
    assert.throws(
      () => load({}, ['--redis-masters', '17']),
      new ConfigError('--redis-masters must be 0 (one redis-server) or a whole number from 3 to 16, got "17"'),
    );
    assert.throws(() => load({}, ['5']), new ConfigError('unknown option 5 (see --help)'));
  });

  it('are all in --help, and answer it', () => {
    assert.equal(loadClusterSettings(['--help'], { GATEWAYS: 'bad' }), 'help');
    const help = helpText();
    assert.match(help, /^Usage: npm run cluster -- \[options\]$/m);
    for (const s of Object.values(SETTINGS)) assert.ok(help.includes(`${s.flag} / ${s.env} `), `${s.env} is in --help`);
  });

  it('are the table of README.md under "The same topology without Docker" (run `npm run docs:config` after changing one)', () => {
    const readme = readFileSync(README, 'utf8');
    assert.equal(tableIn(readme, README_TABLE), markdownTable(SETTINGS));
    assert.equal(withSettingsTable(readme, README_TABLE), readme);
  });
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_ASSUMPTIONS } from '../src/capacity-model.js';
import { PLAN_SETTINGS, USAGE, UsageError, parseArgs } from '../src/args.js';
import { BUNDLED_COSTS, SESSION_SECONDS } from '../src/capacity-plan.js';
import { BIN } from './run-cli.js';

/** Run the CLI to its end: exit status, stdout, stderr. */
async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, out, err };
}

describe('switchboard plan', () => {
  it('reads --connections, --rooms and --rate (lines/s per room), the joins defaulting to one per connection per half hour', () => {
    assert.deepEqual(parseArgs(['plan', '--connections', '200000', '--rooms', '5000', '--rate', '10'], {}), {
      kind: 'plan',
      demand: { connections: 200_000, rooms: 5000, ratePerRoom: 10, joinsPerSec: 200_000 / SESSION_SECONDS },
      assumptions: DEFAULT_ASSUMPTIONS,
    });
    const custom = parseArgs(
      [
        'plan',
        '--connections=1000',
        '--rooms=10',
        '--rate=2.5',
        '--joins-per-sec',
        '50',
        '--headroom',
        '0.5',
        '--placement',
        'room',
        '--max-connections',
        '500',
        '--costs',
        BUNDLED_COSTS,
      ],
      {},
    );
    assert.deepEqual(custom, {
      kind: 'plan',
      demand: { connections: 1000, rooms: 10, ratePerRoom: 2.5, joinsPerSec: 50 },
      assumptions: { ...DEFAULT_ASSUMPTIONS, headroom: 0.5, placement: 'room', maxConnectionsPerGateway: 500 },
      costs: BUNDLED_COSTS,
    });
  });

  it('refuses a plan without its three figures, with more rooms than connections, or a costs file that is not there', () => {
    assert.throws(
      () => parseArgs(['plan', '--rooms', '5', '--rate', '1'], {}),
      new UsageError('plan needs --connections N (connections held at once)'),
    );
    assert.throws(() => parseArgs(['plan', '--connections', '5', '--rate', '1'], {}), /plan needs --rooms R/);
    assert.throws(() => parseArgs(['plan', '--connections', '5', '--rooms', '1'], {}), /plan needs --rate L \(lines\/s in each room\)/);
    assert.throws(
      () => parseArgs(['plan', '--connections', '5', '--rooms', '6', '--rate', '1'], {}),
      /--rooms \(6\) must not exceed --connections \(5\)/,
    );
    assert.throws(
      () => parseArgs(['plan', '--connections', '5', '--rooms', '1', '--rate', '1', '--costs', '/nowhere.json'], {}),
      /--costs must be the path of a readable file/,
    );
    assert.throws(
      () => parseArgs(['plan', '--connections', '5', '--rooms', '1', '--rate', '1', '--placement', 'random'], {}),
      /--placement must be one of spread, room/,
    );
  });

  it('lists every option of plan in the usage, and says that --rate is per room', () => {
    for (const s of Object.values(PLAN_SETTINGS)) assert.ok(USAGE.includes(`  ${s.flag} `), `${s.flag} is in the usage`);
    assert.match(USAGE, /switchboard plan --connections N --rooms R --rate L/);
    assert.match(USAGE, /--rate: lines\/s in each room/);
  });

  it('prints the gateways, shards, memory and ceilings from the bundled costs', async () => {
    const { code, out } = await run(['plan', '--connections', '200000', '--rooms', '5000', '--rate', '10']);
    assert.equal(code, 0);
    assert.match(out, /^Plan: 200,000 connections in 5,000 rooms \(40\.0 members each\), 10\.0 lines\/s per room$/m);
    assert.match(out, /^gateways {6}[\d,]+: each \d+ % of a core/m);
    assert.match(out, /^Redis shards {2}[\d,]+: the busiest \d+ % of a core/m);
    assert.match(out, /^memory {8}gateways [\d.]+ [KMG]iB in all; Redis [\d.]+ [KMG]iB in all/m);
    assert.match(out, /one room lives on one shard: at most [\d,]+ lines\/s per room/);
    assert.match(out, /the sessions slot \(one shard\): at most [\d,]+ joins\/s/);
    assert.match(out, /MAX_ROOMS at least 5,000/);
    assert.match(out, /^Costs: bundled model-costs\.json, measured /m);
  });

  it('uses another costs file with --costs, and says what is wrong with a bad one (exit status 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-'));
    const costs = JSON.parse(readFileSync(BUNDLED_COSTS, 'utf8')) as { measured: { command: string }; gateway: Record<string, number> };
    costs.measured.command = 'a costs file of the test';
    writeFileSync(join(dir, 'good.json'), JSON.stringify(costs));
    const good = await run(['plan', '--connections', '1000', '--rooms', '50', '--rate', '1', '--costs', join(dir, 'good.json')]);
    assert.equal(good.code, 0, good.err);
    assert.match(good.out, /\(a costs file of the test; /);

    costs.gateway.cpuPerDeliveryUs = -1;
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(costs));
    const bad = await run(['plan', '--connections', '1000', '--rooms', '50', '--rate', '1', '--costs', join(dir, 'bad.json')]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /switchboard plan: .*bad\.json: gateway\.cpuPerDeliveryUs must be a number of at least 0 \(got -1\)/);
  });
});

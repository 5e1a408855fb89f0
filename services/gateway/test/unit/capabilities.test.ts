import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { parsePrometheusText } from '@switchboard/testkit';
import { PromMetrics } from '../../src/metrics/prom-metrics.js';
import { CAPABILITIES, checkCapabilities, reportCapabilities } from '../../src/platform/capabilities.js';
import { CAPABILITY_NAMES, FALLBACK_ENV, parseFallbacks } from '../../src/platform/capability.js';

/** JSON log lines written by a pino logger, parsed. */
function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

/** What a process started with FALLBACK_ENV set reports, and chose. */
interface ForcedProcess {
  /** The start-up line it logs. */
  readonly line: Record<string, unknown>;
  /** Each capability's gauge, as set by the start-up check. */
  readonly gauges: Record<string, boolean>;
  /** Whether ws-frames chose, at load, the frames built by RFC 6455 alone, and send() frame by frame. */
  readonly ownFramer: boolean;
  readonly sendsEach: boolean;
}

/** Start a process with FALLBACK_ENV set to `fallbacks`; it runs the start-up check and says what it chose. */
async function processWith(fallbacks: string): Promise<ForcedProcess> {
  const source = (file: string) => JSON.stringify(new URL(`../../src/platform/${file}`, import.meta.url).href);
  const code = `
    const { pino } = await import('pino');
    const { reportCapabilities } = await import(${source('capabilities.ts')});
    const frames = await import(${source('ws-frames.ts')});
    const logged = [];
    const sink = { write: (line) => logged.push(JSON.parse(line)) };
    const gauges = {};
    await reportCapabilities(pino({ level: 'info' }, sink), { capability: (name, inUse) => (gauges[name] = inUse) });
    process.stdout.write(JSON.stringify({
      line: logged.find((line) => line.module === 'platform'),
      gauges,
      ownFramer: frames.textFrame === frames.rfc6455TextFrame,
      sendsEach: frames.writeFrames === frames.sendEach,
    }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    env: { ...process.env, [FALLBACK_ENV]: fallbacks },
  });
  return JSON.parse(stdout) as ForcedProcess;
}

describe('platform capabilities: the start-up check', { timeout: 30_000 }, () => {
  it('knows each capability once, by its name', () => {
    assert.deepEqual(
      CAPABILITIES.map((c) => c.name),
      [...CAPABILITY_NAMES],
    );
    for (const capability of CAPABILITIES) {
      assert.ok(
        capability.internal.length > 0 && capability.fallback.length > 0,
        `${capability.name} says what it uses and what it does without`,
      );
    }
  });

  it('finds every internal it leans on in the installed ws, ioredis and Node.js', async () => {
    assert.deepEqual(await checkCapabilities(), { inUse: [...CAPABILITY_NAMES], fallback: [] });
  });

  it('logs one line (module platform) naming what is in use, and sets switchboard_capability{name} for each', async () => {
    const { logger, lines } = capturingLogger();
    const metrics = new PromMetrics({ node: 'unit', bus: 'memory' });
    await reportCapabilities(logger, metrics);
    const platform = lines.filter((line) => line.module === 'platform');
    assert.equal(platform.length, 1);
    assert.deepEqual(platform[0]!.inUse, [...CAPABILITY_NAMES]);
    assert.deepEqual(platform[0]!.fallback, []);
    assert.equal(platform[0]!.level, 30, 'info: nothing falls back');
    const scrape = parsePrometheusText(await metrics.registry.metrics());
    for (const name of CAPABILITY_NAMES) assert.equal(scrape.value('switchboard_capability', { name }), 1, name);
  });
});

describe(`${FALLBACK_ENV}: forcing fallbacks`, { timeout: 60_000 }, () => {
  it('reads capability names separated by commas, or all, and refuses any other name with the list', () => {
    assert.deepEqual([...parseFallbacks(undefined)], []);
    assert.deepEqual([...parseFallbacks(' ws_raw_socket , libuv_read_stop ')], ['ws_raw_socket', 'libuv_read_stop']);
    assert.deepEqual([...parseFallbacks('all')], [...CAPABILITY_NAMES]);
    assert.throws(() => parseFallbacks('ws_raw_socket,bufferutil'), {
      message: `${FALLBACK_ENV}: "bufferutil" is not a capability (one of: all, ${CAPABILITY_NAMES.join(', ')})`,
    });
  });

  it('takes every fallback in a process started with all: a warning names them, every gauge is 0, ws-frames frames and sends by itself', async () => {
    const forced = await processWith('all');
    assert.equal(forced.line.level, 40, 'a warning');
    assert.deepEqual(forced.line.inUse, []);
    assert.deepEqual(forced.line.fallback, [...CAPABILITY_NAMES]);
    assert.deepEqual(forced.gauges, Object.fromEntries(CAPABILITY_NAMES.map((name) => [name, false])));
    assert.equal(forced.ownFramer, true);
    assert.equal(forced.sendsEach, true);
  });

  it('takes only the fallbacks named', async () => {
    const forced = await processWith('ws_raw_socket,ioredis_subscriber_events');
    const fallback = ['ws_raw_socket', 'ioredis_subscriber_events'];
    assert.deepEqual(forced.line.fallback, fallback);
    assert.deepEqual(
      forced.line.inUse,
      CAPABILITY_NAMES.filter((name) => !fallback.includes(name)),
    );
    assert.deepEqual(forced.gauges, Object.fromEntries(CAPABILITY_NAMES.map((name) => [name, !fallback.includes(name)])));
    assert.equal(forced.ownFramer, false);
    assert.equal(forced.sendsEach, true);
  });
});

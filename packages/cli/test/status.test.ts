import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { ClusterSnapshot, NodeStats } from '@switchboard/protocol';
import { ChatClient, eventually, GatewayProcess, freePort } from '@switchboard/testkit';
import { parseArgs } from '../src/args.js';
import { DEFAULT_METRICS_URL, statusTable } from '../src/status.js';

const BIN = fileURLToPath(new URL('../bin/switchboard.js', import.meta.url));
const STATS_WAIT_MS = 15_000;

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

const node = (over: Partial<NodeStats>): NodeStats => ({
  node: 'gw1',
  at: 1_000_000,
  startedAt: 1_000_000 - 3_723_000,
  bus: 'redis',
  ready: true,
  connections: 12,
  connectionsV2: 10,
  linesPerSec: 4.25,
  deliveriesPerSec: 51,
  bytesPerSec: 5000,
  refusalsPerSec: 0,
  latencyP99Ms: 2.5,
  eventLoopLagMs: 1.2,
  rssBytes: 1e8,
  ...over,
});

describe('switchboard status', () => {
  it('reads `status [--url METRICS_URL]`, with $SWITCHBOARD_METRICS_URL as the default', () => {
    assert.deepEqual(parseArgs(['status'], {}), { kind: 'status', url: DEFAULT_METRICS_URL });
    assert.deepEqual(parseArgs(['status', '--url', 'http://h:9464'], {}), { kind: 'status', url: 'http://h:9464' });
    assert.deepEqual(parseArgs(['status'], { SWITCHBOARD_METRICS_URL: 'http://env:1' }), { kind: 'status', url: 'http://env:1' });
    assert.throws(() => parseArgs(['status', 'gw1'], {}), /status takes no NAME/);
    assert.throws(
      () => parseArgs(['status', '--url', 'ftp://h'], {}),
      /^UsageError: --url must be a http:\/\/ or https:\/\/ URL, got "ftp:\/\/h"$/,
    );
    assert.throws(() => parseArgs(['status', '--bogus'], {}), /^UsageError: unknown option "--bogus"$/);
  });

  it('prints one row per node, totals, and why a node is not ready, with control characters defused', () => {
    const snapshot: ClusterSnapshot = {
      at: 1_000_000,
      servedBy: 'gw1',
      nodes: [
        node({}),
        node({
          node: 'gw2\x1b[2J',
          ready: false,
          reason: 'redis subscriber reconnecting',
          connections: 3,
          connectionsV2: 0,
          latencyP99Ms: null,
        }),
      ],
    };
    const lines = statusTable(snapshot).trimEnd().split('\n');
    assert.match(lines[0]!, /^NODE\s+HEALTH\s+CONNS\s+V2\s+LINES\/S\s+DELIV\/S\s+P99 MS\s+LAG MS\s+REFUSED\/S\s+UP$/);
    assert.match(lines[1]!, /^gw1\s+ready\s+12\s+10\s+4\.3\s+51\.0\s+2\.5\s+1\.2\s+0\.0\s+1h 2m$/);
    assert.match(lines[2]!, /^gw2\uFFFD\[2J\s+NOT READY\s+3\s+0\s.*\s-\s/);
    assert.equal(lines[1]!.indexOf('ready') + 'ready'.length <= lines[0]!.indexOf('CONNS'), true, 'columns line up');
    assert.equal(lines[4], '2 nodes, 1 ready · 15 connections · 8.5 lines/s · 102 deliveries/s · served by gw1');
    assert.equal(lines[5], 'gw2\uFFFD[2J is not ready: redis subscriber reconnecting');
  });

  describe('against a real gateway', () => {
    let gateway: GatewayProcess;

    before(async () => {
      gateway = await GatewayProcess.start({ env: { REDIS_URL: '', NODE_ID: 'status-node', METRICS_PORT: '0' } });
    });

    after(async () => {
      await gateway?.kill();
    });

    it("prints the node's table from its metrics port and exits 0 while it is ready", async () => {
      const client = await ChatClient.connect(gateway.wsUrl);
      // The record is sampled every second: wait for one that counts the client.
      const result = await eventually(
        async () => {
          const answer = await run(['status', '--url', gateway.metricsUrl]);
          assert.match(answer.out, /^status-node\s+ready\s+1\s/m);
          return answer;
        },
        { timeoutMs: STATS_WAIT_MS, what: 'a status that counts the client' },
      );
      assert.equal(result.code, 0, result.err);
      assert.match(result.out, /^status-node\s+ready\s+1\s+0\s/m);
      assert.match(result.out, /^1 node, 1 ready · 1 connections · .* served by status-node$/m);
      await client.close();
    });

    it('exits 1 and says so when nothing answers at the URL', async () => {
      const result = await run(['status', '--url', `http://127.0.0.1:${await freePort()}`]);
      assert.equal(result.code, 1);
      assert.match(result.err, /^switchboard status: cannot read http:\/\/127\.0\.0\.1:\d+: /);
      assert.equal(result.out, '');
    });
  });
});

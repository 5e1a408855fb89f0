import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatencyWindow } from '../../src/metrics/latency-window.js';
import { NodeStatsSampler } from '../../src/metrics/node-stats.js';
import { PromMetrics } from '../../src/metrics/prom-metrics.js';
import { noMetrics, type Metrics } from '../../src/metrics/metrics.js';
import { busKindOf } from '../../src/redis/client.js';
import { parsePrometheusText } from '@switchboard/testkit';

describe('LatencyWindow', () => {
  it('says null when nothing was observed', () => {
    assert.equal(new LatencyWindow().take(0.99), null);
  });

  it('interpolates a quantile within its bucket, as histogram_quantile does, and starts over', () => {
    const window = new LatencyWindow();
    for (let i = 0; i < 100; i++) window.observe(0.003); // all in the (0.0025, 0.005] bucket
    const p99 = window.take(0.99)!;
    assert.ok(p99 > 0.0025 && p99 <= 0.005, `p99 ${p99}`);
    assert.equal(window.take(0.99), null);
  });

  it('puts the slowest one percent where they are', () => {
    const window = new LatencyWindow();
    for (let i = 0; i < 98; i++) window.observe(0.0001);
    for (let i = 0; i < 2; i++) window.observe(0.2);
    const p99 = window.take(0.99)!;
    assert.ok(p99 > 0.1 && p99 <= 0.25, `p99 ${p99}`);
  });
});

describe('NodeStatsSampler', () => {
  it('turns running totals into rates per second over the time since the previous sample', () => {
    const metrics = new PromMetrics({ node: 'n1', bus: 'memory' });
    let now = 1_000_000;
    const sampler = new NodeStatsSampler({
      node: 'n1',
      bus: 'memory',
      tally: () => metrics.tally(),
      readiness: () => ({ ready: true }),
      now: () => now,
    });
    try {
      metrics.connectionOpened('v1');
      metrics.connectionOpened('v2');
      metrics.connectionOpened('v2');
      for (let i = 0; i < 10; i++) metrics.published('message', 0.001);
      metrics.published('notification', 0.001);
      metrics.delivered(30, 3000);
      metrics.connectionRefused('not_ready');
      metrics.busToSocketLatency(0.004);
      now += 2_000;
      const stats = sampler.sample();
      assert.equal(stats.connections, 3);
      assert.equal(stats.connectionsV2, 2);
      assert.equal(stats.linesPerSec, 5, 'ten lines in two seconds; notices are not lines');
      assert.equal(stats.deliveriesPerSec, 15);
      assert.equal(stats.bytesPerSec, 1500);
      assert.equal(stats.refusalsPerSec, 0.5);
      assert.ok(stats.latencyP99Ms! > 2.5 && stats.latencyP99Ms! <= 5);
      now += 1_000;
      const quiet = sampler.sample();
      assert.equal(quiet.linesPerSec, 0);
      assert.equal(quiet.latencyP99Ms, null);
      assert.equal(quiet.ready, true);
    } finally {
      sampler.stop();
    }
  });

  it('says why a node is not ready', () => {
    const metrics = new PromMetrics({ node: 'n1', bus: 'redis' });
    const sampler = new NodeStatsSampler({
      node: 'n1',
      bus: 'redis',
      tally: () => metrics.tally(),
      readiness: () => ({ ready: false, reason: 'redis publisher connecting' }),
    });
    try {
      const stats = sampler.sample();
      assert.equal(stats.ready, false);
      assert.equal(stats.reason, 'redis publisher connecting');
    } finally {
      sampler.stop();
    }
  });
});

describe('PromMetrics', () => {
  it('implements every method of Metrics, as noMetrics does', () => {
    const prom = new PromMetrics({ node: 'n1', bus: 'memory' });
    for (const name of Object.keys(noMetrics) as Array<keyof Metrics>) assert.equal(typeof prom[name], 'function', name);
  });

  it('names every metric of its own switchboard_*, with counters ending in _total and units in the name', async () => {
    const prom = new PromMetrics({ node: 'n1', bus: 'memory' });
    const { types } = parsePrometheusText(await prom.scrape());
    const own = [...types].filter(([name]) => name.startsWith('switchboard_'));
    assert.ok(own.length >= 15);
    for (const [name, type] of own) {
      if (type === 'counter') assert.match(name, /_total$/, name);
      else assert.doesNotMatch(name, /_total$/, name);
      if (type === 'histogram') assert.match(name, /_seconds$/, name);
    }
  });

  it('hands the hot-path counts to prom-client when scraped', async () => {
    const prom = new PromMetrics({ node: 'n1', bus: 'memory' });
    prom.delivered(3, 300);
    prom.frameReceived();
    let scrape = parsePrometheusText(await prom.scrape());
    assert.equal(scrape.value('switchboard_deliveries_total'), 3);
    assert.equal(scrape.value('switchboard_delivered_bytes_total'), 300);
    prom.delivered(1, 100);
    scrape = parsePrometheusText(await prom.scrape());
    assert.equal(scrape.value('switchboard_deliveries_total'), 4);
    assert.equal(scrape.value('switchboard_client_frames_received_total'), 1);
  });
});

describe('busKindOf', () => {
  it('tells one Redis from a Redis Cluster', () => {
    assert.equal(busKindOf({}), 'memory');
    assert.equal(busKindOf({ redisUrl: 'redis://127.0.0.1:6379' }), 'redis');
    assert.equal(busKindOf({ redisCluster: [{ host: '127.0.0.1', port: 7000 }] }), 'redis-cluster');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatencyWindow } from '../../src/metrics/latency-window.js';
import { PromMetrics } from '../../src/metrics/prom-metrics.js';
import { API_ROUTE_LABELS, noMetrics, type Metrics } from '../../src/metrics/metrics.js';
import { API_ROUTES } from '../../src/api/api-routes.js';
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
  it('tells one Redis from a Redis Cluster and from one Redis found through Sentinel', () => {
    assert.equal(busKindOf({}), 'memory');
    assert.equal(busKindOf({ redisUrl: 'redis://127.0.0.1:6379' }), 'redis');
    assert.equal(busKindOf({ redisCluster: [{ host: '127.0.0.1', port: 7000 }] }), 'redis-cluster');
    assert.equal(busKindOf({ redisSentinels: [{ host: '127.0.0.1', port: 26379 }] }), 'redis-sentinel');
  });
});

describe('the API route labels', () => {
  it('name every route of the API, and `other`', () => {
    assert.deepEqual([...API_ROUTE_LABELS], [...Object.keys(API_ROUTES), 'other']);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NodeStatsSampler } from '../../src/dashboard/node-stats-sampler.js';
import { PromMetrics } from '../../src/metrics/prom-metrics.js';

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

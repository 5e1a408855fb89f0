import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GatewayCosts, MeasuredCosts, ShardCosts } from '@switchboard/cli/capacity-model';
import type { CpuUse } from '../src/cpu-meter.js';
import { checkRows, errorOf } from '../src/model-check.js';
import { fitCosts, leastSquares, type ProbeFigures } from '../src/model-fit.js';

/** The costs the synthetic probes below are made of: the fit must find them again. */
const TRUE: MeasuredCosts = {
  measured: { at: '', commit: '', command: '', machine: '', lineBytes: 64, notes: [] },
  gateway: {
    cpuAtRestCores: 0.004,
    memoryAtRestBytes: 70e6,
    cpuPerConnectionAtRestUsPerS: 0.25,
    memoryPerConnectionBytes: 6500,
    cpuPerJoinUs: 800,
    cpuPerLinePublishedUs: 70,
    cpuPerLineHeardUs: 35,
    cpuPerDeliveryUs: 11,
  },
  redisShard: {
    cpuAtRestCores: 0.003,
    cpuPerLineUs: 28,
    cpuPerLineSubscriberUs: 3,
    cpuPerJoinSessionsUs: 160,
    cpuPerJoinRoomsUs: 60,
    cpuPerConnectionAtRestUsPerS: 0.5,
    memoryPerSessionBytes: 700,
    memoryPerHistoryLineBytes: 320,
  },
};
const PING = { probeMs: 1000, defaultMs: 54_000 };
const SHARDS = 3;
const SESSIONS = 1;

const cpu = (nodes: number, redisEach: number[], seconds: number): CpuUse => ({
  nodes,
  redis: redisEach.reduce((a, b) => a + b, 0),
  redisEach,
  server: 0,
  generator: 0,
  others: 0,
  seconds,
});

/** A probe as the costs would have it: `gateways`, `connections` in `rooms`, each line heard `span` times and delivered `size` times. */
function probe(gateways: number, rooms: number, size: number, span: number, linesPerSec: number, pingMs: number): ProbeFigures {
  const g = TRUE.gateway;
  const r = TRUE.redisShard;
  const connections = rooms * size;
  const us = 1e-6;
  const shard = (k: number, seconds: number, extra: (sessions: boolean) => number) => r.cpuAtRestCores * seconds + extra(k === SESSIONS);
  const shardsOf = (seconds: number, extra: (sessions: boolean) => number) =>
    Array.from({ length: SHARDS }, (_, k) => shard(k, seconds, extra));
  // Held connections at the probe's ping interval cost as much more as they are pinged more often.
  const held = g.cpuPerConnectionAtRestUsPerS * (PING.defaultMs / pingMs) * us * connections;
  const heldRedis = (sessions: boolean) => (sessions ? r.cpuPerConnectionAtRestUsPerS * us * connections : 0);
  const lines = linesPerSec * 8;
  const roomBytes = 5000;
  const memory0 = [1e6, 1e6, 1e6];
  const connected = memory0.map((m, k) => m + roomBytes + (k === SESSIONS ? connections * r.memoryPerSessionBytes : 0));
  return {
    probe: { name: `${rooms} x ${size}`, rooms },
    connections,
    sessionsShard: SESSIONS,
    atRest: cpu(
      gateways * g.cpuAtRestCores * 5,
      shardsOf(5, () => 0),
      5,
    ),
    connect: cpu(
      gateways * g.cpuAtRestCores * 4 + connections * g.cpuPerJoinUs * us,
      shardsOf(4, (s) => (connections * r.cpuPerJoinRoomsUs * us) / SHARDS + (s ? connections * r.cpuPerJoinSessionsUs * us : 0)),
      4,
    ),
    idle: cpu(
      (gateways * g.cpuAtRestCores + held) * 5,
      shardsOf(5, (s) => heldRedis(s) * 5),
      5,
    ),
    traffic:
      linesPerSec === 0
        ? undefined
        : cpu(
            (gateways * g.cpuAtRestCores + held) * 9 +
              lines * g.cpuPerLinePublishedUs * us +
              lines * span * g.cpuPerLineHeardUs * us +
              lines * size * g.cpuPerDeliveryUs * us,
            shardsOf(9, (s) => heldRedis(s) * 9 + (lines * (r.cpuPerLineUs + span * r.cpuPerLineSubscriberUs) * us) / SHARDS),
            9,
          ),
    lines,
    historyLines: lines * 1.25,
    linesHeard: lines * span,
    deliveries: lines * size,
    rssAtRest: Array.from({ length: gateways }, () => g.memoryAtRestBytes),
    rssConnected: Array.from({ length: gateways }, () => g.memoryAtRestBytes + (connections / gateways) * g.memoryPerConnectionBytes),
    redisMemoryAtRest: memory0,
    redisMemoryConnected: connected,
    redisMemoryAfter: connected.map((m) => m + (lines * 1.25 * r.memoryPerHistoryLineBytes) / SHARDS),
  };
}

const near = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);

describe('the capacity model fit', () => {
  it('solves least squares: exactly for as many equations as unknowns, in the mean for more', () => {
    const x = leastSquares(
      [
        [1, 1, 1],
        [1, 1, 20],
        [1, 3, 3],
      ],
      [6, 25, 12],
    );
    [3, 2, 1].forEach((v, i) => near(x[i]!, v, `x${i}`));
    const [slope] = leastSquares([[1], [2], [3]], [1.1, 1.9, 3.0]);
    near(slope!, (1.1 + 3.8 + 9) / 14, 'slope');
    assert.throws(() => leastSquares([[1, 2]], [3]), /1 equations for 2 unknowns/);
    assert.throws(
      () =>
        leastSquares(
          [
            [1, 2],
            [2, 4],
          ],
          [1, 2],
        ),
      /do not separate/,
    );
  });

  it('finds every unit cost again from probes made of them (at rest, held, joins, lines, hearing, deliveries, memory)', () => {
    const memory = probe(1, 150, 20, 1, 0, PING.probeMs);
    const traffic = [
      probe(3, 960, 1, 1, 960, PING.defaultMs),
      probe(3, 48, 20, 1, 960, PING.defaultMs),
      probe(3, 320, 3, 3, 960, PING.defaultMs),
    ];
    const fit = fitCosts(memory, traffic, PING);
    for (const key of Object.keys(TRUE.gateway) as Array<keyof GatewayCosts>) near(fit.gateway[key], TRUE.gateway[key], `gateway.${key}`);
    for (const key of Object.keys(TRUE.redisShard) as Array<keyof ShardCosts>)
      near(fit.redisShard[key], TRUE.redisShard[key], `redisShard.${key}`);
    assert.deepEqual(fit.notes, []);
  });

  it('takes a cost that noise pushed below 0 as 0, and says so', () => {
    const memory = probe(1, 150, 20, 1, 0, PING.probeMs);
    const quiet = { ...memory, idle: { ...memory.idle, nodes: memory.atRest.nodes / 2 } };
    const traffic = [
      probe(3, 960, 1, 1, 960, PING.defaultMs),
      probe(3, 48, 20, 1, 960, PING.defaultMs),
      probe(3, 320, 3, 3, 960, PING.defaultMs),
    ];
    const fit = fitCosts(quiet, traffic, PING);
    assert.equal(fit.gateway.cpuPerConnectionAtRestUsPerS, 0);
    assert.match(fit.notes.join('\n'), /gateway CPU per connection at rest came out at -[\d.e-]+ \(noise above the cost\): taken as 0/);
  });

  it('needs three probes with traffic', () => {
    const memory = probe(1, 150, 20, 1, 0, PING.probeMs);
    assert.throws(() => fitCosts(memory, [probe(3, 960, 1, 1, 960, PING.defaultMs)], PING), /needs 3 probes with traffic, got 1/);
  });

  it('predicts a run made of the same costs exactly (the check)', () => {
    const check = probe(3, 25, 40, 3, 250, PING.defaultMs);
    const rows = checkRows(TRUE, check);
    assert.ok(rows.length >= 6);
    for (const row of rows.filter((r) => r.unit === 'CPU-s' && !r.what.startsWith('joins'))) near(errorOf(row), 0, row.what);
    // The connect phase holds half the connections on average in the prediction, all of them... in the probe none: only the joins.
    for (const row of rows.filter((r) => r.what.startsWith('joins')))
      assert.ok(Math.abs(errorOf(row)) < 0.01, `${row.what}: ${errorOf(row)}`);
    for (const row of rows.filter((r) => r.unit === 'MiB')) near(errorOf(row), 0, row.what);
  });
});

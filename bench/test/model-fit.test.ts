import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GatewayCosts, MeasuredCosts, ShardCosts } from '@switchboard/cli/capacity-model';
import type { CpuUse } from '../src/cpu-meter.js';
import { checkRows, errorOf } from '../src/model-check.js';
import { fitCosts, leastSquares, medianFit, type ProbeFigures } from '../src/model-fit.js';
import { layOut, sharesPerLine, type Layout } from '../src/probe-layout.js';

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
    cpuPerConnectionAtRestUsPerS: 20,
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

/** A probe laid out as `layout`, measured as the costs would have it, `linesPerSec` in all (0: none). */
function probe(layout: Layout, linesPerSec: number, pingMs: number): ProbeFigures {
  const g = TRUE.gateway;
  const r = TRUE.redisShard;
  const gateways = layout.nodes;
  const { rooms } = layout;
  const connections = rooms * layout.clientsPerRoom;
  const us = 1e-6;
  const shard = (k: number, seconds: number, extra: (sessions: boolean) => number) => r.cpuAtRestCores * seconds + extra(k === SESSIONS);
  const shardsOf = (seconds: number, extra: (sessions: boolean) => number) =>
    Array.from({ length: SHARDS }, (_, k) => shard(k, seconds, extra));
  // Held connections at the probe's ping interval cost as much more as they are pinged more often.
  const heldEach = g.cpuPerConnectionAtRestUsPerS * (PING.defaultMs / pingMs) * us * (connections / gateways);
  const heldRedis = (sessions: boolean) => (sessions ? r.cpuPerConnectionAtRestUsPerS * us * connections : 0);
  const lines = linesPerSec * 8;
  const shares = sharesPerLine(layOut(layout), gateways, rooms);
  const perGateway = shares.map((share) => {
    const idle = (g.cpuAtRestCores + heldEach) * 5;
    const published = lines * share.published;
    const heard = lines * share.heard;
    const deliveries = lines * share.deliveries;
    const work = published * g.cpuPerLinePublishedUs * us + heard * g.cpuPerLineHeardUs * us + deliveries * g.cpuPerDeliveryUs * us;
    return { idle, traffic: (idle / 5) * 9 + work, published, heard, deliveries };
  });
  const linesHeard = perGateway.reduce((a, b) => a + b.heard, 0);
  const roomBytes = 5000;
  const memory0 = [1e6, 1e6, 1e6];
  const connected = memory0.map((m, k) => m + roomBytes + (k === SESSIONS ? connections * r.memoryPerSessionBytes : 0));
  return {
    probe: { name: `${rooms} x ${layout.clientsPerRoom}`, rooms },
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
      perGateway.reduce((a, b) => a + b.idle, 0),
      shardsOf(5, (s) => heldRedis(s) * 5),
      5,
    ),
    traffic:
      linesPerSec === 0
        ? undefined
        : cpu(
            perGateway.reduce((a, b) => a + b.traffic, 0),
            shardsOf(9, (s) => heldRedis(s) * 9 + ((lines * r.cpuPerLineUs + linesHeard * r.cpuPerLineSubscriberUs) * us) / SHARDS),
            9,
          ),
    lines,
    historyLines: lines * 1.25,
    linesHeard,
    deliveries: lines * layout.clientsPerRoom,
    perGateway: linesPerSec === 0 ? perGateway.map((p) => ({ ...p, traffic: 0 })) : perGateway,
    rssAtRest: Array.from({ length: gateways }, () => g.memoryAtRestBytes),
    rssConnected: Array.from({ length: gateways }, () => g.memoryAtRestBytes + (connections / gateways) * g.memoryPerConnectionBytes),
    redisMemoryAtRest: memory0,
    redisMemoryConnected: connected,
    redisMemoryAfter: connected.map((m) => m + (lines * 1.25 * r.memoryPerHistoryLineBytes) / SHARDS),
  };
}

/** The bench's probes, as layouts. */
const MEMORY = { nodes: 1, rooms: 150, clientsPerRoom: 20, roomNodes: 1 };
const LINES = { nodes: 3, rooms: 960, clientsPerRoom: 1, roomNodes: 1 };
const DELIVERIES = { nodes: 3, rooms: 48, clientsPerRoom: 20, roomNodes: 1 };
const ROLES = { nodes: 3, rooms: 48, clientsPerRoom: 21, roomNodes: 1, membersPerGateway: [1, 1, 19] };
const trafficProbes = () => [probe(LINES, 960, PING.defaultMs), probe(DELIVERIES, 960, PING.defaultMs), probe(ROLES, 960, PING.defaultMs)];

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
    const fit = fitCosts(probe(MEMORY, 0, PING.probeMs), trafficProbes(), PING);
    for (const key of Object.keys(TRUE.gateway) as Array<keyof GatewayCosts>) near(fit.gateway[key], TRUE.gateway[key], `gateway.${key}`);
    for (const key of Object.keys(TRUE.redisShard) as Array<keyof ShardCosts>)
      near(fit.redisShard[key], TRUE.redisShard[key], `redisShard.${key}`);
    assert.deepEqual(fit.notes, []);
    assert.equal(fit.residuals.length, 3 * 3 + 3, 'one equation per gateway of each traffic probe, and one per probe for the shards');
    for (const r of fit.residuals) near(r.fitted, r.measured, r.what);
  });

  it('takes a cost that noise pushed below 0 as 0, and says so', () => {
    const memory = probe(MEMORY, 0, PING.probeMs);
    const busyAtRest = { ...memory, atRest: { ...memory.atRest, nodes: memory.idle.nodes + 1 } };
    const fit = fitCosts(busyAtRest, trafficProbes(), PING);
    assert.equal(fit.gateway.cpuPerConnectionAtRestUsPerS, 0);
    assert.match(fit.notes.join('\n'), /gateway CPU per connection at rest came out at -[\d.e-]+ \(noise above the cost\): taken as 0/);
  });

  it('takes what held connections cost as 0 when idle and at rest differ by no more than /proc resolves', () => {
    const memory = probe(MEMORY, 0, PING.probeMs);
    const flat = { ...memory, idle: { ...memory.idle, redisEach: memory.atRest.redisEach.map((cpu, k) => cpu + (k === 0 ? 0.02 : 0)) } };
    const fit = fitCosts(flat, trafficProbes(), PING);
    assert.equal(fit.redisShard.cpuPerConnectionAtRestUsPerS, 0);
    assert.match(
      fit.notes.join('\n'),
      /shard CPU per connection at rest: idle and at rest differ by 0\.02 CPU-s, within what \/proc resolves: taken as 0/,
    );
  });

  it('keeps the median of each cost over rounds, and its range', () => {
    const fit = fitCosts(probe(MEMORY, 0, PING.probeMs), trafficProbes(), PING);
    const scaled = (factor: number) => ({
      ...fit,
      gateway: { ...fit.gateway, cpuPerDeliveryUs: fit.gateway.cpuPerDeliveryUs * factor },
      notes: factor === 1 ? [] : [`x${factor}`],
    });
    const median = medianFit([scaled(1), scaled(3), scaled(0.5)]);
    near(median.gateway.cpuPerDeliveryUs, TRUE.gateway.cpuPerDeliveryUs, 'the middle of three');
    const [low, high] = median.ranges['gateway.cpuPerDeliveryUs']!;
    near(low, TRUE.gateway.cpuPerDeliveryUs * 0.5, 'lowest');
    near(high, TRUE.gateway.cpuPerDeliveryUs * 3, 'highest');
    assert.deepEqual(median.notes, ['round 2: x3', 'round 3: x0.5']);
    near(medianFit([scaled(1), scaled(3)]).gateway.cpuPerDeliveryUs, TRUE.gateway.cpuPerDeliveryUs * 2, 'the mean of the middle two');
  });

  it('needs three probes with traffic', () => {
    assert.throws(
      () => fitCosts(probe(MEMORY, 0, PING.probeMs), [probe(LINES, 960, PING.defaultMs)], PING),
      /needs 3 probes with traffic, got 1/,
    );
  });

  it('predicts a run made of the same costs exactly (the check)', () => {
    const check = probe({ nodes: 3, rooms: 25, clientsPerRoom: 40, roomNodes: 3 }, 250, PING.defaultMs);
    const rows = checkRows(TRUE, check);
    assert.ok(rows.length >= 6);
    for (const row of rows.filter((r) => r.unit === 'CPU-s')) near(errorOf(row), 0, row.what);
    for (const row of rows.filter((r) => r.unit === 'MiB')) near(errorOf(row), 0, row.what);
  });
});

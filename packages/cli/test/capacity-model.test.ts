import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  CostsError,
  DEFAULT_ASSUMPTIONS,
  cpuSeconds,
  gatewaysPerRoom,
  plan,
  readCosts,
  type MeasuredCosts,
} from '../src/capacity-model.js';
import { BUNDLED_COSTS } from '../src/capacity-plan.js';

/** Round costs, so that every figure below can be worked out by hand. */
const COSTS: MeasuredCosts = {
  measured: { at: '2026-01-01T00:00:00.000Z', commit: 'abc1234', command: 'by hand', machine: 'none', lineBytes: 64, notes: [] },
  gateway: {
    cpuAtRestCores: 0.05,
    memoryAtRestBytes: 50 * 2 ** 20,
    cpuPerConnectionAtRestUsPerS: 1,
    memoryPerConnectionBytes: 8192,
    cpuPerJoinUs: 1000,
    cpuPerLinePublishedUs: 50,
    cpuPerLineHeardUs: 20,
    cpuPerDeliveryUs: 10,
  },
  redisShard: {
    cpuAtRestCores: 0.01,
    cpuPerLineUs: 30,
    cpuPerLineSubscriberUs: 5,
    cpuPerJoinSessionsUs: 200,
    cpuPerJoinRoomsUs: 100,
    cpuPerConnectionAtRestUsPerS: 0,
    memoryPerSessionBytes: 1000,
    memoryPerHistoryLineBytes: 300,
  },
};

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-9 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);

describe('capacity model', () => {
  it('adds the unit costs up linearly: CPU-seconds of the gateways and of the shards for some traffic', () => {
    const cpu = cpuSeconds(COSTS, {
      seconds: 10,
      gateways: 3,
      shards: 2,
      connections: 1000,
      joins: 100,
      lines: 1000,
      linesHeard: 3000,
      deliveries: 40_000,
    });
    // 3 x 0.05 x 10 + 1000 x 1 µs x 10 + 100 x 1000 µs + 1000 x 50 µs + 3000 x 20 µs + 40,000 x 10 µs
    close(cpu.gateways, 1.5 + 0.01 + 0.1 + 0.05 + 0.06 + 0.4, 'gateways');
    // 2 x 0.01 x 10 + 100 x 300 µs + 1000 x 30 µs + 3000 x 5 µs
    close(cpu.shards, 0.2 + 0.03 + 0.03 + 0.015, 'shards');
  });

  it('counts the gateways a room spans: one when kept together, nearly all of them when spread among fewer gateways than members', () => {
    assert.equal(gatewaysPerRoom(40, 10, 'room', 1000), 1);
    assert.equal(gatewaysPerRoom(2500, 10, 'room', 1000), 3, 'a room bigger than a gateway spans as many as it fills');
    assert.equal(gatewaysPerRoom(40, 1, 'spread', 1000), 1);
    close(gatewaysPerRoom(2, 2, 'spread', 1000), 1.5, 'two members on two gateways: 1.5 expected');
    close(gatewaysPerRoom(40, 3, 'spread', 1000), 3 * (1 - (2 / 3) ** 40), 'forty members on three');
    assert.ok(gatewaysPerRoom(40, 1000, 'spread', 1000) < 40, 'never more than the members');
  });

  it('plans the fewest gateways and shards under the headroom, their memory and the ceilings', () => {
    const p = plan(
      COSTS,
      { connections: 10_000, rooms: 500, ratePerRoom: 50, joinsPerSec: 10 },
      { ...DEFAULT_ASSUMPTIONS, placement: 'room' },
    );
    // Gateways, in all: 0.05 G + 10,000 x 1 µs + 10 x 1000 µs + 25,000 x (50 + 20) µs + 500,000 x 10 µs = 0.05 G + 6.77 cores.
    assert.ok(p.gateways.ok);
    assert.equal(p.gateways.count, 12, '0.05 + 6.77 / 11 > 0.65 >= 0.05 + 6.77 / 12');
    close(p.gateways.cpuCores, 0.05 + 6.77 / 12, 'each gateway');
    close(p.gateways.memoryBytes, 50 * 2 ** 20 + (10_000 / 12) * 8192, 'gateway memory');
    // The busiest shard: 0.01 + its rooms x 50 x (30 + 5) µs + 10 x 100 µs / S + 10 x 200 µs: S = 1 needs 0.888.
    assert.ok(p.shards.ok);
    assert.equal(p.shards.count, 2);
    close(p.shards.busiestCpuCores, 0.01 + 250 * 50 * 35e-6 + (10 * 100e-6) / 2 + 10 * 200e-6, 'busiest shard');
    close(p.shards.sessionsCpuCores, 10 * 200e-6, 'sessions slot');
    close(p.historyBytesPerRoom, 10_000 * 300, 'history: HISTORY_MAX_EVENTS lines (50 lines/s x 600 s is more)');
    close(p.redisMemoryBytes, 10_000 * 1000 + 500 * 10_000 * 300, 'Redis memory');
    close(p.ceilings.maxLinesPerRoom, 0.64 / 35e-6, 'one room on one shard');
    close(p.ceilings.maxJoinsPerSec, 0.64 / 200e-6, 'the sessions slot');
    close(p.ceilings.reconnectAllSeconds, 10_000 / 3200, 'everyone back');
    assert.deepEqual(p.ceilings.hit, []);
    assert.equal(p.deliveriesPerSec, 500_000);
  });

  it('needs more gateways when rooms are spread: each gateway hears the lines of most rooms', () => {
    const demand = { connections: 10_000, rooms: 500, ratePerRoom: 50, joinsPerSec: 10 };
    const spread = plan(COSTS, demand, DEFAULT_ASSUMPTIONS);
    const kept = plan(COSTS, demand, { ...DEFAULT_ASSUMPTIONS, placement: 'room' });
    assert.ok(spread.gateways.ok && kept.gateways.ok);
    assert.ok(spread.gateways.count > kept.gateways.count, `${spread.gateways.count} spread vs ${kept.gateways.count} kept`);
    assert.ok(spread.gateways.gatewaysPerRoom > 10);
  });

  it('holds at least MAX_CONNECTIONS per gateway apart', () => {
    const p = plan(
      COSTS,
      { connections: 100_000, rooms: 1, ratePerRoom: 0, joinsPerSec: 0 },
      { ...DEFAULT_ASSUMPTIONS, maxConnectionsPerGateway: 5_000 },
    );
    assert.ok(p.gateways.ok);
    assert.equal(p.gateways.count, 20);
  });

  it('says which ceiling a demand runs into: a room beyond one shard, joins beyond the sessions slot', () => {
    // Without the per-gateway part (which grows with the gateways a room spans), one room's ceiling is 0.64 core / 30 µs.
    const costs = { ...COSTS, redisShard: { ...COSTS.redisShard, cpuPerLineSubscriberUs: 0 } };
    const p = plan(costs, { connections: 1000, rooms: 1, ratePerRoom: 30_000, joinsPerSec: 5_000 }, DEFAULT_ASSUMPTIONS);
    assert.equal(p.shards.ok, false);
    assert.match(p.ceilings.hit.join('\n'), /a room's 30000 lines\/s is more than one shard carries \(21,333\)/);
    assert.match(p.ceilings.hit.join('\n'), /5,000 joins\/s is more than the sessions slot takes \(3,200\)/);
    assert.match(p.ceilings.hit.join('\n'), /one room's lines need \d+ % of a shard's core/);
  });

  it('refuses a demand with more rooms than connections', () => {
    assert.throws(() => plan(COSTS, { connections: 10, rooms: 11, ratePerRoom: 1, joinsPerSec: 0 }), RangeError);
  });

  it('reads a costs file, naming a missing or bad field', () => {
    assert.deepEqual(readCosts(JSON.parse(JSON.stringify(COSTS))), COSTS);
    const without = JSON.parse(JSON.stringify(COSTS)) as { gateway: Record<string, unknown> };
    delete without.gateway.cpuPerDeliveryUs;
    assert.throws(() => readCosts(without), new CostsError('gateway.cpuPerDeliveryUs must be a number of at least 0 (got undefined)'));
    assert.throws(
      () => readCosts({ ...COSTS, redisShard: { ...COSTS.redisShard, cpuPerLineUs: 0 } }),
      /redisShard.cpuPerLineUs must be above 0/,
    );
    assert.throws(
      () => readCosts({ ...COSTS, gateway: { ...COSTS.gateway, cpuPerJoinUs: -1 } }),
      /gateway.cpuPerJoinUs must be a number of at least 0/,
    );
    assert.throws(() => readCosts([]), new CostsError('the file must be an object'));
  });

  it('bundles measured costs that read', () => {
    const costs = readCosts(JSON.parse(readFileSync(BUNDLED_COSTS, 'utf8')));
    assert.ok(
      costs.measured.at !== '' && costs.measured.command.includes('--scenario model'),
      'the bundled costs say when and how they were measured',
    );
  });
});

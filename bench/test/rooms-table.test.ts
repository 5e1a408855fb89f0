import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram } from '../src/generator/histogram.js';
import { roomsTable } from '../src/report.js';
import type { RoomsOptions, RoomsResult } from '../src/scenarios/rooms.js';

const options: RoomsOptions = {
  rooms: 50,
  clientsPerRoom: 20,
  sendersPerRoom: 1,
  roomNodes: 1,
  nodes: 3,
  ratePerRoom: 20,
  bytes: 64,
  warmupMs: 3_000,
  durationMs: 20_000,
  drainMs: 15_000,
  workers: 1,
};

function result(system: string, redisEach: number[], received: number): RoomsResult {
  const latency = new Histogram();
  latency.record(2_000);
  const redis = redisEach.reduce((a, b) => a + b, 0);
  return {
    id: 'switchboard',
    system,
    sent: 20_000,
    expected: 400_000,
    received,
    strays: 0,
    stillArriving: false,
    deliveriesPerSec: received / 20,
    cpu: {
      nodes: 8,
      redis,
      redisEach,
      server: 8 + redis,
      generator: 4,
      others: 1,
      seconds: 20,
    },
    idleCpu: { nodes: 0.1, redis: 0, redisEach: redisEach.map(() => 0.05), server: 0.1, generator: 0, others: 0, seconds: 5 },
    latency,
    refused: 0,
    closes: {},
    roomsServed: [17, 17, 16],
    roomsSubscribed: [17, 17, 16],
    serverLog: [],
  };
}

describe('rooms table', () => {
  it('shows the offered load, and per system its losses, server CPU per delivery, CPU per shard, busiest shard and subscriptions per gateway', () => {
    const text = roomsTable(options, [
      result('Switchboard', [3], 400_000),
      result('Switchboard, Redis Cluster', [1.2, 1, 0.8], 399_000),
      { system: 'broken', error: 'no cluster' },
      { system: 'absent', error: 'nginx not found', notRun: true },
    ]);
    assert.match(
      text,
      /^Rooms: 50 rooms x 20 clients on 3 gateways \(each room on one gateway\), .*1,000 lines\/s, 20,000 deliveries\/s offered/,
    );
    const rows = text.split('\n').filter((l) => l.startsWith('| Switchboard') || l.startsWith('| broken') || l.startsWith('| absent'));
    const cells = rows.map((row) => row.split('|').map((c) => c.trim()));
    const headers = text
      .split('\n')
      .find((l) => l.startsWith('| system'))!
      .split('|')
      .map((c) => c.trim());
    assert.equal(headers.length, cells[0]!.length, 'a header for every column');
    assert.deepEqual(
      [headers[7], headers[11], headers[12], headers[13]],
      ['server CPU-s per M deliveries', 'busiest redis % of a core', 'idle: redis % of a core', 'rooms subscribed/served per gateway'],
    );
    // system, deliveries/s, lost, strays, p50, p99, server per M, gateway per M, redis per M, per shard, busiest %, idle %, subscribed/served
    assert.deepEqual(cells[0]!.slice(1, 14), [
      'Switchboard',
      '20,000',
      '0 (0.0 %)',
      '0',
      '2.0',
      '2.0',
      '27.5',
      '20.0',
      '7.5',
      '3.0',
      '15',
      '1.0',
      '17/17 17/17 16/16',
    ]);
    assert.deepEqual(cells[1]!.slice(2, 4), ['19,950', '1,000 (0.3 %)']);
    assert.deepEqual(cells[1]!.slice(10, 13), ['1.2 + 1.0 + 0.8', '6', '1.0 + 1.0 + 1.0']);
    assert.equal(cells[2]![2], 'failed: no cluster');
    assert.equal(cells[3]![2], 'NOT RUN: nginx not found');
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { RoomName } from '@switchboard/protocol';
import type { Probe } from './chaos-probe.js';
import { analyse, mergeReports } from './chaos-report.js';
import { STEADY_MS, chaosFixture } from './chaos-run.js';

/**
 * Issue 11's chaos proof: the gateways on a 3-master Redis Cluster, 18 SDK
 * clients (protocol v2) through the load balancer spread over three rooms whose
 * keys and channels live on three different shards, every room with clients on
 * every gateway, all sending while a gateway is SIGKILLed and started again.
 * Afterwards every client of a room holds the room's one contiguous sequence,
 * with every line sent in the room in it exactly once, and nothing of another room.
 */
const CLIENTS = 18;
const ROOMS = 3;
const REDIS_MASTERS = 3;
const SCENARIO_TIMEOUT_MS = 120_000;
/** At most this many room names are tried to find one per shard. */
const ROOM_CANDIDATES = 200;
const REPORT = new URL('../../test-output/e2e-chaos-rooms.txt', import.meta.url);

const fixture = chaosFixture({ redisMasters: REDIS_MASTERS });

/** Room names whose keys and channels live on `count` different shards, one each. */
async function roomsOnShards(shardOf: (room: RoomName) => Promise<string>, count: number): Promise<Map<string, RoomName>> {
  const byShard = new Map<string, RoomName>();
  for (let i = 0; i < ROOM_CANDIDATES && byShard.size < count; i++) {
    const room = `chaos-${i}`;
    const shard = await shardOf(room);
    if (!byShard.has(shard)) byShard.set(shard, room);
  }
  return byShard;
}

describe(
  'chaos on a Redis Cluster: 18 v2 clients in three rooms on three shards through a gateway SIGKILL',
  { timeout: SCENARIO_TIMEOUT_MS },
  () => {
    test(
      'every client of a room ends with the room’s contiguous sequence, every line in it exactly once',
      { timeout: SCENARIO_TIMEOUT_MS },
      async (t) => {
        const run = fixture.start(t);
        if (!run) return;
        const { target } = run;
        assert.ok(target.shardOf, 'the local cluster runs on a Redis Cluster');
        const shards = await roomsOnShards(target.shardOf, ROOMS);
        assert.equal(shards.size, ROOMS, `rooms on ${ROOMS} different shards: ${[...shards].map(([s, r]) => `#${r} on ${s}`).join(', ')}`);
        const rooms = [...shards.values()];
        const { probes } = run;
        await run.connect(CLIENTS);

        // The clients of each gateway are dealt out over the rooms: every room has clients on every gateway.
        const groups = new Map<RoomName, Probe[]>(rooms.map((room) => [room, []]));
        const perNode = new Map<string, number>();
        const joins: Array<Promise<void>> = [];
        for (const probe of probes) {
          const n = perNode.get(probe.node) ?? 0;
          perNode.set(probe.node, n + 1);
          const room = rooms[n % ROOMS]!;
          groups.get(room)!.push(probe);
          joins.push(probe.join(room));
        }
        await Promise.all(joins);
        const epochs = new Map<RoomName, string>();
        for (const [room, group] of groups) {
          const nodes = new Set(group.map((p) => p.node));
          assert.equal(nodes.size, target.gateways, `#${room} has clients on every gateway (${[...nodes].join(', ')})`);
          assert.ok(
            group.every((p) => p.client.room === room),
            `every client of #${room} is in it`,
          );
          epochs.set(room, group[0]!.client.position!.epoch);
        }
        run.log(`rooms: ${[...shards].map(([shard, room]) => `#${room} on ${shard} (${groups.get(room)!.length} clients)`).join(', ')}`);

        run.startSending();
        await delay(STEADY_MS);
        // The killed gateway served clients of every room: each of them resumes in its room elsewhere.
        await run.killAndRestart();

        await run.stopSending();
        const reports = [];
        for (const [room, group] of groups) {
          const finalSeq = await run.quiesce(group);
          reports.push(analyse(group, run.lines, epochs.get(room)!, finalSeq));
        }
        const report = mergeReports(reports);
        run.writeReport('chaos scenario on a Redis Cluster, three rooms (e2e/src/chaos-rooms.test.ts)', report, REPORT);

        assert.ok(
          probes.every((p) => p.client.room === p.room),
          'every client is still in its room',
        );
        assert.deepEqual(report.epochs, [], 'no room lost its history');
        run.assertNothingLost(report);
      },
    );
  },
);

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { pino } from 'pino';
import type { BroadcastEvent, RoomName } from '@switchboard/protocol';
import { EventLog, RedisCluster, RedisServer } from '@switchboard/testkit';
import type { BusLimits } from '../../src/bus/bus.js';
import type { RedisTarget } from '../../src/redis/client.js';
import { RedisKeys } from '../../src/redis/keys.js';
import { RedisBus } from '../../src/bus/redis-bus.js';
import { RedisSessionRegistry } from '../../src/sessions/redis-session-registry.js';
import type { SessionInfo } from '../../src/sessions/session-registry.js';
import { ROOM, describeBusContract, type BusUnderTest } from '../contract/bus.contract.js';
import { SENTINEL_MASTER_NAME, SentinelGroup } from './sentinel-group.js';
import { untilReady } from '../contract/ready.js';
import {
  CONTRACT_ROOMS,
  CONTRACT_SUMMARY_INTERVAL_MS,
  describeSessionContract,
  type RegistryUnderTest,
} from '../contract/sessions.contract.js';

const logger = pino({ level: 'silent' });
const HISTORY: BusLimits = {
  historyMaxEvents: 1_000,
  historyMaxAgeMs: 600_000,
  historyMaxBytes: 1_000_000,
  refsPerClient: 100,
  historyOnJoin: 50,
};
/** Short leases so that a dead node is found within a test; a quick summary tick. */
const LEASES = { leaseTtlMs: 500, sweepIntervalMs: 50, summaryIntervalMs: CONTRACT_SUMMARY_INTERVAL_MS };
const PRESENCE = { maxRooms: 1_000, presenceNoticeLimit: 1_000, joinNoticeRatePerSec: 1_000, joinNoticeBurst: 1_000 };

let tests = 0;
/** Every test gets its own key prefix: no test sees another's keys. */
const freshPrefix = () => `contract-${process.pid}-${++tests}`;

async function startBus(
  target: RedisTarget,
  options: BusLimits & { prefix: string; nodeId: string; now?: () => number },
  rooms: readonly string[],
): Promise<{ bus: RedisBus; events: EventLog<BroadcastEvent> }> {
  const bus = new RedisBus({ ...options, target, logger });
  const events = new EventLog<BroadcastEvent>();
  bus.start((e) => events.push(e));
  await untilReady({ ready: () => bus.health().ready, onHealthChange: (l) => bus.onHealthChange(l) }, `bus ${options.nodeId}`);
  for (const room of rooms) await bus.subscribe(room);
  return { bus, events };
}

/** The Bus and SessionRegistry contracts on Redis, wherever `target()` points (one Redis, or a Redis Cluster). */
function describeRedisContracts(kind: string, target: () => RedisTarget): void {
  describeBusContract(`RedisBus on ${kind}`, () => {
    const made: RedisBus[] = [];
    let probe: Redis | Cluster | undefined;
    return {
      make: async (limits, now) => {
        const prefix = freshPrefix();
        const keys = new RedisKeys(prefix);
        // A connection of the test's own: EXISTS does not renew a key.
        const t = target();
        const redis = (probe =
          'url' in t
            ? new Redis(t.url)
            : 'clusterNodes' in t
              ? new Cluster([...t.clusterNodes])
              : new Redis({ sentinels: [...t.sentinels], name: t.name }));
        const keeps = async (room: RoomName) => {
          const { stream, once } = keys.room(room);
          return (await redis.exists(...stream.slice(0, 5), once)) > 0;
        };
        let nodes = 0;
        const make = async (): Promise<BusUnderTest> => {
          const under = await startBus(target(), { ...limits, prefix, nodeId: `node-${++nodes}`, now }, [ROOM]);
          made.push(under.bus);
          return { ...under, keeps, peer: make };
        };
        return make();
      },
      cleanup: async () => {
        await Promise.all(made.map((b) => b.close()));
        probe?.disconnect();
      },
    };
  });

  describeSessionContract(`RedisSessionRegistry on ${kind}`, () => {
    const closers: Array<() => Promise<void>> = [];
    return {
      make: async (limits = {}) => {
        const prefix = freshPrefix();
        const { bus, events } = await startBus(target(), { ...HISTORY, prefix, nodeId: 'observer' }, CONTRACT_ROOMS);
        closers.push(() => bus.close());
        let nodes = 0;
        const node = async (live: () => Iterable<SessionInfo>) => {
          const nodeId = `node-${++nodes}`;
          const options = { ...HISTORY, ...LEASES, ...PRESENCE, ...limits, target: target(), prefix, nodeId, logger };
          const sessions = new RedisSessionRegistry(options, bus);
          sessions.start(live);
          await untilReady(sessions, `session registry ${nodeId}`);
          closers.push(() => sessions.close());
          return {
            sessions,
            nodeId,
            bus,
            events,
            node,
            // Die as a killed process would: the timers stop and the connection drops, but the lease is not given up.
            kill: async () => {
              const internals = sessions as unknown as { timers: NodeJS.Timeout[]; redis: { disconnect(): void } };
              for (const timer of internals.timers) clearInterval(timer);
              internals.redis.disconnect();
            },
          };
        };
        const first: RegistryUnderTest = await node(() => []);
        return first;
      },
      cleanup: async () => {
        for (const close of closers.reverse()) await close().catch(() => undefined);
      },
    };
  });
}

describe('on one Redis', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    await redis?.dispose();
  });
  describeRedisContracts('one Redis', () => ({ url: redis.url }));

  it('gives every key a room makes a TTL in the script that makes it, the epoch never outliving the others', async () => {
    const prefix = freshPrefix();
    const lifetimes = { roomTtlMs: 60_000, roomHistoryTtlMs: 600_000 };
    const { bus } = await startBus({ url: redis.url }, { ...HISTORY, ...lifetimes, historyMaxEvents: 20, prefix, nodeId: 'ttl' }, []);
    const probe = new Redis(redis.url);
    try {
      const notice = { type: 'notification', id: 'ann', nickname: 'ann', message: 'ann has joined', event: 'joined', time: 0 } as const;
      await bus.head('asked'); // as a refused join does
      await bus.publish({ ...notice, room: 'noticed' }, 'p:reg-1:joined:1');
      for (let i = 0; i < 40; i++) await bus.publish({ ...notice, room: 'trimmed', message: `notice ${i}` }); // trimmed: its byte count rewritten
      await bus.publish({ ...notice, room: 'chatty' }, 'p:reg-1:joined:1');
      await bus.publish({ type: 'message', room: 'chatty', id: 'ann', nickname: 'ann', message: 'hi', time: 0, ref: 'r1' });
      await bus.publish({ ...notice, room: 'renewed' });
      await bus.renewEpoch('renewed', (await bus.head('renewed')).epoch);
      await bus.publish({ ...notice, room: 'renewed' });

      const keys = await probe.keys(`{${prefix}:*`);
      const ttls = new Map(await Promise.all(keys.map(async (key) => [key, await probe.pttl(key)] as const)));
      // When each expires, in unix ms: read at different moments, TTLs cannot be compared to the millisecond.
      const expiries = new Map(await Promise.all(keys.map(async (key) => [key, Number(await probe.call('PEXPIRETIME', key))] as const)));
      const roomOf = (key: string) => key.slice(prefix.length + 2, key.indexOf('}'));
      assert.deepEqual([...new Set(keys.map(roomOf))].sort(), ['asked', 'chatty', 'noticed', 'renewed', 'trimmed']);
      for (const [key, ttl] of ttls) {
        assert.ok(ttl > 0, `${key} has no TTL (${ttl})`);
        // A client's refs and the notices' once keys: as long as the history at most.
        if (key.includes(':refs:') || key.endsWith(':once')) {
          assert.ok(ttl <= HISTORY.historyMaxAgeMs, `${key}: ${ttl} ms`);
          continue;
        }
        const room = roomOf(key);
        const lifetime = room === 'chatty' ? lifetimes.roomHistoryTtlMs : lifetimes.roomTtlMs;
        assert.ok(ttl <= lifetime && ttl > lifetime - 10_000, `${key}: ${ttl} ms, not its room's lifetime (${lifetime} ms)`);
        const epoch = expiries.get(`{${prefix}:${room}}:epoch`)!;
        assert.ok(epoch <= expiries.get(key)!, `${key} would expire before its room's epoch`);
      }
      assert.ok(
        ttls.get(`{${prefix}:noticed}:once`)! <= lifetimes.roomTtlMs,
        "a room with no chat line keeps its notices' once keys no longer than itself",
      );
    } finally {
      probe.disconnect();
      await bus.close();
    }
  });
});

describe('on a Redis Cluster of three masters', () => {
  let cluster: RedisCluster;
  before(async () => {
    cluster = await RedisCluster.start();
  });
  after(async () => {
    await cluster?.dispose();
  });
  describeRedisContracts('a Redis Cluster', () => ({ clusterNodes: cluster.seedNodes }));
});

describe('on one Redis whose master Redis Sentinel names', () => {
  let group: SentinelGroup;
  let target: RedisTarget;
  before(async () => {
    group = await SentinelGroup.start();
    const sentinels = group.sentinelPorts.map((port) => ({ host: '127.0.0.1', port }));
    target = { sentinels, name: SENTINEL_MASTER_NAME };
  });
  after(async () => {
    await group?.dispose();
  });
  describeRedisContracts('one Redis through Sentinel', () => target);
});

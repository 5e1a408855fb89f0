import { after, before, describe } from 'node:test';
import { pino } from 'pino';
import type { BroadcastEvent } from '@switchboard/protocol';
import { EventLog, RedisCluster, RedisServer } from '@switchboard/testkit';
import type { BusLimits } from '../../src/bus/bus.js';
import type { RedisTarget } from '../../src/redis/client.js';
import { RedisBus } from '../../src/bus/redis-bus.js';
import { RedisSessionRegistry } from '../../src/sessions/redis-session-registry.js';
import type { SessionInfo } from '../../src/sessions/session-registry.js';
import { ROOM, describeBusContract, type BusUnderTest } from '../contract/bus.contract.js';
import { untilReady } from '../contract/ready.js';
import { CONTRACT_ROOMS, describeSessionContract, type RegistryUnderTest } from '../contract/sessions.contract.js';

const logger = pino({ level: 'silent' });
const HISTORY: BusLimits = {
  historyMaxEvents: 1_000,
  historyMaxAgeMs: 600_000,
  historyMaxBytes: 1_000_000,
  refsPerClient: 100,
  historyOnJoin: 50,
};
/** Short leases so that a dead node is found within a test; a quick summary tick. */
const LEASES = { leaseTtlMs: 500, sweepIntervalMs: 50, summaryIntervalMs: 100 };
const PRESENCE = { maxRooms: 1_000, presenceNoticeLimit: 1_000 };

let tests = 0;
/** Every test gets its own key prefix: no test sees another's keys. */
const freshPrefix = () => `contract-${process.pid}-${++tests}`;

/** The Bus and SessionRegistry contracts on Redis, wherever `target()` points (one Redis, or a Redis Cluster). */
function describeRedisContracts(kind: string, target: () => RedisTarget): void {
  async function startBus(
    options: BusLimits & { prefix: string; nodeId: string; now?: () => number },
    rooms: readonly string[],
  ): Promise<BusUnderTest & { bus: RedisBus }> {
    const bus = new RedisBus({ ...options, target: target(), logger });
    const events = new EventLog<BroadcastEvent>();
    bus.start((e) => events.push(e));
    await untilReady({ ready: () => bus.health().ready, onHealthChange: (l) => bus.onHealthChange(l) }, `bus ${options.nodeId}`);
    for (const room of rooms) await bus.subscribe(room);
    return { bus, events };
  }

  describeBusContract(`RedisBus on ${kind}`, () => {
    const made: RedisBus[] = [];
    return {
      make: async (limits, now) => {
        const prefix = freshPrefix();
        let nodes = 0;
        const make = async (): Promise<BusUnderTest> => {
          const under = await startBus({ ...limits, prefix, nodeId: `node-${++nodes}`, now }, [ROOM]);
          made.push(under.bus);
          return { ...under, peer: make };
        };
        return make();
      },
      cleanup: async () => {
        await Promise.all(made.map((b) => b.close()));
      },
    };
  });

  describeSessionContract(`RedisSessionRegistry on ${kind}`, () => {
    const closers: Array<() => Promise<void>> = [];
    return {
      make: async (limits = {}) => {
        const prefix = freshPrefix();
        const { bus, events } = await startBus({ ...HISTORY, prefix, nodeId: 'observer' }, CONTRACT_ROOMS);
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

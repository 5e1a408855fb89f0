import { after, before } from 'node:test';
import { pino } from 'pino';
import type { BroadcastEvent } from '@switchboard/protocol';
import { EventLog, RedisServer } from '@switchboard/testkit';
import type { BusLimits } from '../../src/bus/bus.js';
import { RedisBus } from '../../src/redis/redis-bus.js';
import { RedisSessionRegistry } from '../../src/redis/redis-session-registry.js';
import type { SessionInfo } from '../../src/sessions/session-registry.js';
import { describeBusContract, type BusUnderTest } from '../contract/bus.contract.js';
import { untilReady } from '../contract/ready.js';
import { describeSessionContract, type RegistryUnderTest } from '../contract/sessions.contract.js';

const logger = pino({ level: 'silent' });
const HISTORY: BusLimits = { historyMaxEvents: 1_000, historyMaxAgeMs: 600_000, historyMaxBytes: 1_000_000, refsPerClient: 100 };
/** Short leases so that a dead node is found within a test. */
const LEASES = { leaseTtlMs: 500, sweepIntervalMs: 50 };

let redis: RedisServer;
let tests = 0;
/** Every test gets its own key prefix on the one redis-server: no test sees another's keys. */
const freshPrefix = () => `contract-${process.pid}-${++tests}`;

before(async () => {
  redis = await RedisServer.start();
});

after(async () => {
  await redis?.dispose();
});

async function startBus(
  options: BusLimits & { prefix: string; nodeId: string; now?: () => number },
): Promise<BusUnderTest & { bus: RedisBus }> {
  const bus = new RedisBus({ ...options, url: redis.url, logger });
  const events = new EventLog<BroadcastEvent>();
  bus.start((e) => events.push(e));
  await untilReady({ ready: () => bus.health().ready, onHealthChange: (l) => bus.onHealthChange(l) }, `bus ${options.nodeId}`);
  return { bus, events };
}

describeBusContract('RedisBus', () => {
  const made: RedisBus[] = [];
  return {
    make: async (limits, now) => {
      const prefix = freshPrefix();
      let nodes = 0;
      const make = async (): Promise<BusUnderTest> => {
        const under = await startBus({ ...limits, prefix, nodeId: `node-${++nodes}`, now });
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

describeSessionContract('RedisSessionRegistry', () => {
  const closers: Array<() => Promise<void>> = [];
  return {
    make: async () => {
      const prefix = freshPrefix();
      const { bus, events } = await startBus({ ...HISTORY, prefix, nodeId: 'observer' });
      closers.push(() => bus.close());
      let nodes = 0;
      const node = async (live: () => Iterable<SessionInfo>) => {
        const nodeId = `node-${++nodes}`;
        const sessions = new RedisSessionRegistry({ ...HISTORY, ...LEASES, url: redis.url, prefix, nodeId, logger });
        sessions.start(live, () => undefined);
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

import { pino } from 'pino';
import type { BroadcastEvent } from '@switchboard/protocol';
import { EventLog } from '@switchboard/testkit';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { MemorySessionRegistry } from '../../src/sessions/memory-session-registry.js';
import { ROOM, describeBusContract } from '../contract/bus.contract.js';
import { CONTRACT_ROOMS, CONTRACT_SUMMARY_INTERVAL_MS, describeSessionContract } from '../contract/sessions.contract.js';

const logger = pino({ level: 'silent' });
const HISTORY = { historyMaxEvents: 1_000, historyMaxAgeMs: 600_000, historyMaxBytes: 1_000_000, refsPerClient: 100, historyOnJoin: 50 };
/** Presence bounds of the contract's registries (a test may lower them), and a quick summary tick. */
const PRESENCE = {
  maxRooms: 1_000,
  presenceNoticeLimit: 1_000,
  joinNoticeRatePerSec: 1_000,
  joinNoticeBurst: 1_000,
  summaryIntervalMs: CONTRACT_SUMMARY_INTERVAL_MS,
};

describeBusContract('MemoryBus', () => {
  const made: MemoryBus[] = [];
  return {
    make: async (limits, now) => {
      const bus = new MemoryBus(limits, now);
      const events = new EventLog<BroadcastEvent>();
      bus.start((e) => events.push(e));
      await bus.subscribe(ROOM);
      made.push(bus);
      return { bus, events, keeps: (room) => Promise.resolve(bus.keeps(room)) };
    },
    cleanup: async () => {
      await Promise.all(made.map((b) => b.close()));
    },
  };
});

describeSessionContract('MemorySessionRegistry', () => {
  const made: Array<{ bus: MemoryBus; sessions: MemorySessionRegistry }> = [];
  return {
    make: async (limits = {}) => {
      const bus = new MemoryBus(HISTORY);
      const events = new EventLog<BroadcastEvent>();
      bus.start((e) => events.push(e));
      for (const room of CONTRACT_ROOMS) await bus.subscribe(room);
      const options = { ...PRESENCE, ...limits, nodeId: 'solo', tombstoneTtlMs: HISTORY.historyMaxAgeMs };
      const sessions = new MemorySessionRegistry(bus, options, logger);
      sessions.start();
      made.push({ bus, sessions });
      return { sessions, bus, events, nodeId: 'solo' };
    },
    cleanup: async () => {
      for (const { bus, sessions } of made) {
        await sessions.close();
        await bus.close();
      }
    },
  };
});

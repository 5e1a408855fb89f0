import { pino } from 'pino';
import type { BroadcastEvent } from '@switchboard/protocol';
import { EventLog } from '@switchboard/testkit';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { MemorySessionRegistry } from '../../src/sessions/memory-session-registry.js';
import { describeBusContract } from '../contract/bus.contract.js';
import { describeSessionContract } from '../contract/sessions.contract.js';

const logger = pino({ level: 'silent' });
const HISTORY = { historyMaxEvents: 1_000, historyMaxAgeMs: 600_000, historyMaxBytes: 1_000_000, refsPerClient: 100 };

describeBusContract('MemoryBus', () => {
  const made: MemoryBus[] = [];
  return {
    make: async (limits, now) => {
      const bus = new MemoryBus(limits, now);
      const events = new EventLog<BroadcastEvent>();
      bus.start((e) => events.push(e));
      made.push(bus);
      return { bus, events };
    },
    cleanup: async () => {
      await Promise.all(made.map((b) => b.close()));
    },
  };
});

describeSessionContract('MemorySessionRegistry', () => {
  const made: Array<{ bus: MemoryBus; sessions: MemorySessionRegistry }> = [];
  return {
    make: async () => {
      const bus = new MemoryBus(HISTORY);
      const events = new EventLog<BroadcastEvent>();
      bus.start((e) => events.push(e));
      const sessions = new MemorySessionRegistry(bus, { nodeId: 'solo', tombstoneTtlMs: HISTORY.historyMaxAgeMs }, logger);
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

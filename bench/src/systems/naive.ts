/** The floor of "the simplest thing": N nodes of servers/naive-relay.ts (ws + ioredis) over one redis-server. */
import { fileURLToPath } from 'node:url';
import type { SystemUnderTest } from './system.js';
import { startComparison } from './comparison-cluster.js';

const SERVER = fileURLToPath(new URL('../servers/naive-relay.js', import.meta.url));

export const naive: SystemUnderTest = {
  id: 'naive',
  name: 'naive ws + ioredis relay',
  client: 'ws-json',
  start: (options) => startComparison(SERVER, 'naive', options, (port) => `ws://127.0.0.1:${port}/ws`),
};

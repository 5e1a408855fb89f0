/** Socket.IO 4.8 with @socket.io/redis-adapter: N nodes of servers/socketio-server.ts over one redis-server. */
import { fileURLToPath } from 'node:url';
import { startComparison } from './comparison-cluster.js';
import type { SystemUnderTest } from './system.js';

const SERVER = fileURLToPath(new URL('../servers/socketio-server.js', import.meta.url));

export const socketio: SystemUnderTest = {
  id: 'socketio',
  name: 'Socket.IO 4.8 + redis-adapter',
  client: 'socket.io',
  start: (options) => startComparison(SERVER, 'sio', options, (port) => `http://127.0.0.1:${port}`),
};

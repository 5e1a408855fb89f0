/**
 * Socket.IO 4.8 with @socket.io/redis-adapter, N nodes of servers/socketio-server.ts:
 * the classic adapter over one redis-server (`socketio`), or the sharded adapter
 * (createShardedAdapter, SPUBLISH/SSUBSCRIBE, a channel per room) over a 3-master
 * Redis Cluster of its own (`socketio-cluster`), as `switchboard-cluster` runs.
 */
import { fileURLToPath } from 'node:url';
import { startComparison } from './comparison-cluster.js';
import type { SystemUnderTest } from './system.js';
import { CLUSTER_MASTERS } from './system-redis.js';

const SERVER = fileURLToPath(new URL('../servers/socketio-server.js', import.meta.url));

export const socketio: SystemUnderTest = {
  id: 'socketio',
  name: 'Socket.IO 4.8 + redis-adapter',
  client: 'socket.io',
  start: (options) => startComparison(SERVER, 'sio', options, (port) => `http://127.0.0.1:${port}`),
};

export const socketioCluster: SystemUnderTest = {
  id: 'socketio-cluster',
  name: `Socket.IO 4.8 + sharded redis-adapter, Redis Cluster (${CLUSTER_MASTERS} masters)`,
  client: 'socket.io',
  start: (options) => startComparison(SERVER, 'sioc', options, (port) => `http://127.0.0.1:${port}`, 'cluster'),
};

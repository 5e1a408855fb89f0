/**
 * One Socket.IO 4.8 node with @socket.io/redis-adapter: the chat a Socket.IO user
 * would write. A "join" event (a room name, acknowledged) puts the socket in that
 * room (socket.join, leaving the one it was in); each "chat" event is broadcast as
 * {type, id, nickname, message, time} to the sender's room on every node
 * (io.to(room).emit), or to everyone (io.emit) before any join; websocket
 * transport only. With JOIN_NOTICES=1 each connection is announced to everyone,
 * as Switchboard does.
 *
 * Env: PORT, NODE_ID, and either REDIS_URL (the classic adapter, createAdapter,
 * over ioredis) or REDIS_CLUSTER (`host:port,...`: the sharded adapter,
 * createShardedAdapter with SPUBLISH/SSUBSCRIBE and a channel per room, over the
 * `redis` package's cluster client: the adapter's documented way, as it cannot
 * use ioredis with a cluster). The Redis connections are named `<NODE_ID>:pub`
 * and `<NODE_ID>:sub` (CLIENT LIST). GET /readyz answers 200 once both are ready.
 */
import { createServer } from 'node:http';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { createCluster } from 'redis';
import { Server } from 'socket.io';

const nodeId = process.env.NODE_ID ?? 'sio';
const joinNotices = process.env.JOIN_NOTICES === '1';
const clusterSeeds = process.env.REDIS_CLUSTER;

let ready = false;
const http = createServer((req, res) => {
  res.writeHead(req.url === '/readyz' ? (ready ? 200 : 503) : 404).end();
});
const io = new Server(http, {
  transports: ['websocket'],
  serveClient: false,
  adapter: clusterSeeds === undefined ? await classicAdapter(process.env.REDIS_URL) : await shardedAdapter(clusterSeeds),
});
ready = true;

let guests = 0;
io.on('connection', (socket) => {
  const nickname = `AnonymousUser-${nodeId}-${++guests}`;
  let room: string | undefined;
  if (joinNotices)
    io.emit('chat', { type: 'notification', id: socket.id, nickname, message: `${nickname} has connected`, time: Date.now() });
  socket.on('join', (name: unknown, ack?: (reply: { type: 'joined'; room: string }) => void) => {
    if (typeof name !== 'string' || name === '') return;
    if (room !== undefined) void socket.leave(room);
    room = name;
    void socket.join(name);
    if (typeof ack === 'function') ack({ type: 'joined', room: name });
  });
  socket.on('chat', (message: unknown) => {
    if (typeof message !== 'string') return;
    const event = { type: 'message', id: socket.id, nickname, message, time: Date.now() };
    if (room === undefined) io.emit('chat', event);
    else io.to(room).emit('chat', event);
  });
});

http.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));

/** The classic adapter: PUBLISH/PSUBSCRIBE on one redis-server, over ioredis. */
async function classicAdapter(url = 'redis://127.0.0.1:6379'): Promise<ReturnType<typeof createAdapter>> {
  const pub = new Redis(url, { connectionName: `${nodeId}:pub` });
  const sub = new Redis(url, { connectionName: `${nodeId}:sub` });
  await Promise.all([pub, sub].map((client) => new Promise((resolve) => client.once('ready', resolve))));
  return createAdapter(pub, sub);
}

/** The sharded adapter over a Redis Cluster, with the `redis` package's cluster client. */
async function shardedAdapter(seeds: string): Promise<ReturnType<typeof createShardedAdapter>> {
  const rootNodes = seeds.split(',').map((seed) => ({ url: `redis://${seed}` }));
  const pub = createCluster({ rootNodes, defaults: { name: `${nodeId}:pub` } });
  const sub = createCluster({ rootNodes, defaults: { name: `${nodeId}:sub` } });
  for (const client of [pub, sub]) client.on('error', (err: Error) => process.stderr.write(`redis cluster error: ${err.message}\n`));
  await Promise.all([pub.connect(), sub.connect()]);
  return createShardedAdapter(pub, sub);
}

/**
 * One Socket.IO 4.8 node with @socket.io/redis-adapter: the chat a Socket.IO user
 * would write. Each "chat" event from a client is broadcast to every client of
 * every node with io.emit, as {type, id, nickname, message, time}; websocket
 * transport only. With JOIN_NOTICES=1 each connection is announced to everyone,
 * as Switchboard does. Env: REDIS_URL, PORT, NODE_ID. GET /readyz answers 200
 * once both Redis connections are ready.
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const nodeId = process.env.NODE_ID ?? 'sio';
const joinNotices = process.env.JOIN_NOTICES === '1';
const pub = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const sub = pub.duplicate();

const http = createServer((req, res) => {
  const ready = pub.status === 'ready' && sub.status === 'ready';
  res.writeHead(req.url === '/readyz' ? (ready ? 200 : 503) : 404).end();
});
const io = new Server(http, { transports: ['websocket'], serveClient: false, adapter: createAdapter(pub, sub) });

let guests = 0;
io.on('connection', (socket) => {
  const nickname = `AnonymousUser-${nodeId}-${++guests}`;
  if (joinNotices)
    io.emit('chat', { type: 'notification', id: socket.id, nickname, message: `${nickname} has connected`, time: Date.now() });
  socket.on('chat', (message: unknown) => {
    if (typeof message !== 'string') return;
    io.emit('chat', { type: 'message', id: socket.id, nickname, message, time: Date.now() });
  });
});

http.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));

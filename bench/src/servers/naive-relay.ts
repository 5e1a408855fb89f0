/**
 * The naive relay, the floor of "the simplest thing": ws + ioredis. Every text
 * frame from a client is PUBLISHed as JSON to one channel; every node SUBSCRIBEs
 * to it, parses each event and sends JSON.stringify(event) to each of its clients,
 * one by one. A client gets a welcome frame first. With JOIN_NOTICES=1 each
 * connection is announced to everyone. Env: REDIS_URL, PORT, NODE_ID. GET /readyz
 * answers 200 once subscribed.
 */
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';

const CHANNEL = 'naive:chat';
const nodeId = process.env.NODE_ID ?? 'naive';
const joinNotices = process.env.JOIN_NOTICES === '1';
const pub = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const sub = pub.duplicate();
let subscribed = false;
void sub.subscribe(CHANNEL).then(() => (subscribed = true));

const clients = new Set<WebSocket>();
sub.on('message', (_channel: string, text: string) => {
  const event: unknown = JSON.parse(text);
  for (const client of clients) client.send(JSON.stringify(event));
});

const http = createServer((req, res) => {
  res.writeHead(req.url === '/readyz' ? (subscribed && pub.status === 'ready' ? 200 : 503) : 404).end();
});
const wss = new WebSocketServer({ server: http, path: '/ws', perMessageDeflate: false });

let guests = 0;
wss.on('connection', (socket) => {
  const id = `${nodeId}-${++guests}`;
  const nickname = `AnonymousUser-${id}`;
  clients.add(socket);
  socket.send(JSON.stringify({ type: 'welcome', id, nickname, message: `Welcome, ${nickname}!` }));
  if (joinNotices)
    void pub.publish(
      CHANNEL,
      JSON.stringify({ type: 'notification', id, nickname, message: `${nickname} has connected`, time: Date.now() }),
    );
  socket.on('message', (data) => {
    void pub.publish(CHANNEL, JSON.stringify({ type: 'message', id, nickname, message: (data as Buffer).toString(), time: Date.now() }));
  });
  socket.on('close', () => clients.delete(socket));
  socket.on('error', () => undefined);
});

http.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));

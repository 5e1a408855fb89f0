/**
 * Fan-out benchmark: CLIENTS seed-protocol clients spread over NODES gateways
 * (over a real redis-server, or one node on the in-memory bus with NODES=1
 * BUS=memory), SENDERS of them sending MESSAGES lines in total as fast as the
 * gateways take them. Prints deliveries per second and send-to-receive latency.
 *
 *   npm run bench                       # defaults below
 *   CLIENTS=500 NODES=3 MESSAGES=4000 npm run bench
 *
 * Everything runs on this machine (loopback only) and stops by itself: the
 * message count bounds the work and TIMEOUT_MS bounds the time.
 */
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { GatewayProcess, RedisServer } from '@switchboard/testkit';

const CLIENTS = Number(process.env.CLIENTS ?? 300);
const NODES = Number(process.env.NODES ?? 3);
const SENDERS = Number(process.env.SENDERS ?? 10);
const MESSAGES = Number(process.env.MESSAGES ?? 2000);
const BUS = process.env.BUS ?? (NODES === 1 ? 'memory' : 'redis');
const TIMEOUT_MS = Number(process.env.TIMEOUT_MS ?? 120_000);

interface Receiver {
  socket: WebSocket;
  received: number;
}

async function main(): Promise<void> {
  const redis = BUS === 'redis' ? await RedisServer.start() : undefined;
  const env = {
    REDIS_URL: redis?.url ?? '',
    LOG_LEVEL: 'info', // the test kit waits for the 'gateway ready' line
    MESSAGE_RATE_PER_SEC: '1000000',
    MESSAGE_BURST: '1000000',
    MAX_BUFFERED_BYTES: String(64 * 1024 * 1024),
  };
  const nodes = await Promise.all(
    Array.from({ length: NODES }, (_, i) => GatewayProcess.start({ env: { ...env, NODE_ID: `bench-${i + 1}` } })),
  );
  const latencies: number[] = [];
  const expected = MESSAGES;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  let complete = 0;

  const receivers: Receiver[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const socket = new WebSocket(nodes[i % NODES]!.wsUrl);
    const receiver: Receiver = { socket, received: 0 };
    await new Promise<void>((resolve, reject) => {
      socket.once('message', () => resolve()); // the welcome
      socket.once('error', reject);
    });
    socket.on('message', (data) => {
      const text = data.toString();
      const at = text.indexOf('"message":"b ');
      if (at === -1) return;
      const sentAt = Number(text.slice(at + 13, text.indexOf(' ', at + 13)));
      latencies.push(performance.now() - sentAt);
      if (++receiver.received === expected && ++complete === CLIENTS) done();
    });
    receivers.push(receiver);
  }

  const started = performance.now();
  const perSender = Math.ceil(MESSAGES / SENDERS);
  let sent = 0;
  for (let round = 0; round < perSender; round++) {
    for (let s = 0; s < SENDERS && sent < MESSAGES; s++, sent++) {
      receivers[s % CLIENTS]!.socket.send(`b ${performance.now()} ${sent}`);
    }
    if (round % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  const timer = setTimeout(() => done(), TIMEOUT_MS);
  await finished;
  clearTimeout(timer);
  const elapsed = performance.now() - started;

  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]?.toFixed(1);
  const deliveries = latencies.length;
  const rows: Array<[string, string]> = [
    ['bus', BUS],
    ['gateways', String(NODES)],
    ['clients', String(CLIENTS)],
    ['lines sent', String(MESSAGES)],
    ['deliveries', `${deliveries} of ${MESSAGES * CLIENTS}`],
    ['elapsed', `${(elapsed / 1000).toFixed(2)} s`],
    ['lines/s through the cluster', (MESSAGES / (elapsed / 1000)).toFixed(0)],
    ['deliveries/s', (deliveries / (elapsed / 1000)).toFixed(0)],
    ['latency p50 / p99 / max', `${pct(50)} / ${pct(99)} / ${latencies.at(-1)?.toFixed(1)} ms`],
  ];
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(30)} ${v}\n`);

  for (const r of receivers) r.socket.terminate();
  await Promise.all(nodes.map((n) => n.kill()));
  await redis?.dispose();
  if (deliveries < MESSAGES * CLIENTS) process.exitCode = 1;
}

void main();

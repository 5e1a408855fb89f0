import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BroadcastEvent } from '@switchboard/protocol';
import { ChatClient, EventLog, GatewayProcess, RedisServer, watch } from '@switchboard/testkit';
import { SwitchboardClient, type ClientEvents } from '../src/index.js';
import { balancer, type Balancer } from './balancer.js';

/** Short timings, so a drop is resumed well within the grace period and a drain is quick. */
const TIMINGS = { RESUME_GRACE_MS: '10000', LEASE_TTL_MS: '3000', SWEEP_INTERVAL_MS: '200', DRAIN_DELAY_MS: '200' };
const WAIT_MS = 20_000;

/** The SDK over the stand-in balancer, with every delivered broadcast recorded. */
function sdkClient(lb: Balancer) {
  const client = new SwitchboardClient({
    url: 'ws://balancer.invalid/ws',
    WebSocket: lb.WebSocket,
    reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
  });
  const events = watch<ClientEvents>(client);
  const delivered = new EventLog<BroadcastEvent>();
  for (const type of ['message', 'notification', 'nick_update'] as const) client.on(type, (e) => delivered.push(e));
  return { client, events, delivered, failed: events.record('resumeFailed') };
}

function assertContiguous(events: readonly BroadcastEvent[]): void {
  const seqs = events.map((e) => e.seq);
  const first = seqs[0] ?? 0;
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => first + i),
    `delivered seqs are contiguous, without repeats: ${seqs.join(',')}`,
  );
}

describe('SwitchboardClient v2 against real gateways: resume, exactly once', { timeout: 180_000 }, () => {
  let redis: RedisServer;
  const nodes: GatewayProcess[] = [];
  const closers: Array<() => Promise<unknown>> = [];

  const start = (n: number, port?: number) =>
    GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: `sdk-${n}`, ...TIMINGS, ...(port ? { PORT: String(port) } : {}) } });

  before(async () => {
    redis = await RedisServer.start();
    for (const n of [1, 2, 3]) nodes.push(await start(n));
  });

  after(async () => {
    await Promise.allSettled(closers.map((close) => close()));
    await Promise.allSettled(nodes.map((n) => n.kill()));
    await redis?.dispose();
  });

  it(
    'resumes on another node after its node is SIGKILLed: same id and name, every line once, in order, no notices',
    { timeout: 60_000 },
    async () => {
      const watcher = await ChatClient.connect(nodes[2]!.wsUrl);
      closers.push(() => watcher.close());
      const lb = balancer(nodes[0]!.wsUrl);
      const ada = sdkClient(lb);
      closers.push(() => ada.client.close());
      await ada.client.connect();
      await ada.client.setNick('ada');
      assert.equal(ada.client.node, 'sdk-1');
      const id = ada.client.id;

      for (let i = 0; i < 5; i++) watcher.send(`before ${i}`);
      await ada.delivered.waitFor((e) => e.message === 'before 4', WAIT_MS, 'the lines before the kill');

      const port = nodes[0]!.port;
      lb.target = nodes[1]!.wsUrl;
      const reopened = ada.events.next('welcome', () => true, WAIT_MS, 'the welcome after the kill');
      await nodes[0]!.kill();
      for (let i = 0; i < 5; i++) watcher.send(`while away ${i}`);
      const welcome = await reopened;
      for (let i = 0; i < 5; i++) watcher.send(`after ${i}`);
      await ada.delivered.waitFor((e) => e.message === 'after 4', WAIT_MS, 'the lines after the resume');

      assert.equal(welcome.resumed, true);
      assert.equal(welcome.node, 'sdk-2');
      assert.equal(ada.client.id, id);
      assert.equal(ada.client.nickname, 'ada');
      assert.deepEqual(ada.failed.items, []);
      assertContiguous(ada.delivered.items);
      const lines = ada.delivered.items.filter((e) => e.type === 'message').map((e) => e.message);
      for (const phase of ['before', 'while away', 'after']) {
        for (let i = 0; i < 5; i++) assert.equal(lines.filter((l) => l === `${phase} ${i}`).length, 1, `${phase} ${i} once`);
      }
      await watcher.waitForMessage('message', 'after 4');
      assert.ok(
        !watcher.events.some((e) => e.type === 'notification' && e.id === id && e.event === 'disconnected'),
        'no disconnect notice',
      );
      assert.equal(
        watcher.events.filter((e) => e.type === 'notification' && e.id === id).length,
        1,
        'one connect notice: the first connection only',
      );
      nodes[0] = await start(1, port);
    },
  );

  it('delivers exactly once a line whose echo was lost in the drop, and a line sent while down', { timeout: 60_000 }, async () => {
    const watcher = await ChatClient.connect(nodes[2]!.wsUrl);
    closers.push(() => watcher.close());
    const lb = balancer(nodes[0]!.wsUrl);
    const bea = sdkClient(lb);
    closers.push(() => bea.client.close());
    await bea.client.connect();

    // bea stops hearing her socket: the server broadcasts her line, but she never sees the echo.
    const socket = lb.sockets.at(-1)!;
    socket.removeAllListeners('message');
    const echoLost = bea.client.send('echo lost in the drop');
    await watcher.waitForMessage('message', 'echo lost in the drop');
    lb.target = nodes[1]!.wsUrl;
    const lost = bea.events.next('close');
    socket.terminate();
    assert.equal((await lost).willReconnect, true);
    const whileDown = bea.client.send('sent while down');
    assert.equal(bea.client.pending, 2);

    const [first, second] = await Promise.all([echoLost, whileDown]);
    assert.ok(first && second && second.seq > first.seq, 'both acknowledged, in order');
    watcher.send('barrier');
    await watcher.waitForMessage('message', 'barrier');
    await bea.delivered.waitFor((e) => e.message === 'barrier', WAIT_MS, 'the barrier');
    for (const text of ['echo lost in the drop', 'sent while down']) {
      assert.equal(watcher.events.filter((e) => e.message === text).length, 1, `the others saw "${text}" once`);
      assert.equal(bea.delivered.items.filter((e) => e.message === text).length, 1, `bea saw "${text}" once`);
    }
    assertContiguous(bea.delivered.items);
    assert.deepEqual(bea.failed.items, []);
  });

  it('follows a drain (1012) to another node and resumes there', { timeout: 60_000 }, async () => {
    const lb = balancer(nodes[1]!.wsUrl);
    const cy = sdkClient(lb);
    closers.push(() => cy.client.close());
    await cy.client.connect();
    assert.equal(cy.client.node, 'sdk-2');
    const watcher = await ChatClient.connect(nodes[2]!.wsUrl);
    closers.push(() => watcher.close());

    lb.target = nodes[2]!.wsUrl;
    const closed = cy.events.next('close', () => true, WAIT_MS);
    const reopened = cy.events.next('welcome', () => true, WAIT_MS, 'the welcome after the drain');
    const port = nodes[1]!.port;
    const stopped = nodes[1]!.stop('SIGTERM');
    assert.equal((await closed).code, 1012);
    watcher.send('during the drain');
    const welcome = await reopened;
    assert.equal(welcome.resumed, true);
    assert.equal(welcome.node, 'sdk-3');
    await cy.delivered.waitFor((e) => e.message === 'during the drain', WAIT_MS, 'the line sent during the drain');
    assert.deepEqual((await stopped).code, 0);
    nodes[1] = await start(2, port);
  });
});

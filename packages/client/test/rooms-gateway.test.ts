import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import type { BroadcastEvent, MessageFrame } from '@switchboard/protocol';
import { EventLog, GatewayProcess, RedisServer, watch } from '@switchboard/testkit';
import { ClientError, SwitchboardClient, type ClientEvents, type ClientOptions } from '../src/index.js';
import { balancer, type Balancer } from './balancer.js';

/** Short timings, so a drop is resumed well within the grace period. */
const TIMINGS = { RESUME_GRACE_MS: '10000', LEASE_TTL_MS: '3000', SWEEP_INTERVAL_MS: '200', DRAIN_DELAY_MS: '200' };
const WAIT_MS = 20_000;

/**
 * The SDK's rooms against two real gateways over a real redis-server: join,
 * presence notices, isolation, history on join, who and rooms, unique names,
 * and a resume in a room. (Needs the gateway's side of rooms.)
 */
describe('SwitchboardClient rooms against real gateways', { timeout: 180_000 }, () => {
  let redis: RedisServer;
  const nodes: GatewayProcess[] = [];
  const clients: SwitchboardClient[] = [];

  const start = (n: number, port?: number) =>
    GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: `rooms-${n}`, ...TIMINGS, ...(port ? { PORT: String(port) } : {}) } });

  /** An SDK client on `node` (or behind a stand-in balancer), recording what it delivers. */
  function sdk(on: GatewayProcess | Balancer, options: Partial<ClientOptions> = {}) {
    const target = 'wsUrl' in on ? { url: on.wsUrl, WebSocket } : { url: 'ws://lb.invalid/ws', WebSocket: on.WebSocket };
    const client = new SwitchboardClient({ ...target, reconnect: { initialDelayMs: 50, maxDelayMs: 500 }, ...options });
    clients.push(client);
    const events = watch<ClientEvents>(client);
    const live = new EventLog<BroadcastEvent>();
    for (const type of ['message', 'notification', 'nick_update'] as const) client.on(type, (e) => live.push(e));
    return { client, events, live, history: events.record('history'), gaps: events.record('gap'), failed: events.record('resumeFailed') };
  }

  before(async () => {
    redis = await RedisServer.start();
    for (const n of [1, 2]) nodes.push(await start(n));
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(nodes.map((n) => n.kill()));
    await redis?.dispose();
  });

  it('moves between rooms on two nodes: the others hear left and joined, lines stay in their room, each room in order', async () => {
    const ada = sdk(nodes[0]!);
    const bob = sdk(nodes[1]!);
    const lobbyOnly = sdk(nodes[1]!);
    await Promise.all([ada.client.connect(), bob.client.connect(), lobbyOnly.client.connect()]);
    assert.deepEqual([ada.client.room, bob.client.room], ['lobby', 'lobby']);

    const heardLeave = bob.events.next('notification', (n) => n.event === 'left' && n.id === ada.client.id, WAIT_MS, "ada's leave");
    const joined = await ada.client.join('#Move');
    assert.equal(joined.room, 'move');
    assert.equal(ada.client.room, 'move');
    // Its own "has joined" may have come in the same batch as the answer: the position is the join's, or past it.
    assert.equal(ada.client.position?.epoch, joined.epoch);
    assert.ok(ada.client.position.seq >= joined.seq);
    assert.equal((await heardLeave).room, 'lobby');

    const heardJoin = ada.events.next('notification', (n) => n.event === 'joined' && n.id === bob.client.id, WAIT_MS, "bob's join");
    await bob.client.join('move');
    assert.equal((await heardJoin).room, 'move');

    await lobbyOnly.client.send('only for the lobby');
    await ada.client.send('only for #move');
    const line = await bob.live.waitFor((e) => e.message === 'only for #move', WAIT_MS, "ada's line in #move");
    assert.equal(line.room, 'move');
    assert.equal(
      [...ada.live.items, ...bob.live.items].filter((e) => e.message === 'only for the lobby').length,
      0,
      'a line of the lobby never reaches #move',
    );
    assert.equal(lobbyOnly.live.items.filter((e) => e.message === 'only for #move').length, 0, 'nor a line of #move the lobby');
    for (const who of [ada, bob]) {
      assert.deepEqual(who.gaps.items, [], 'a new room is a new sequence, not a gap');
      const inMove = who.live.items.filter((e) => e.room === 'move').map((e) => e.seq);
      assert.deepEqual(
        inMove,
        inMove.map((_, i) => inMove[0]! + i),
        `contiguous in #move: ${inMove.join(',')}`,
      );
    }
  });

  it('sends the recent lines of a room after joined, as history events, then live lines', async () => {
    const ada = sdk(nodes[0]!);
    await ada.client.connect();
    await ada.client.join('recent');
    for (let i = 1; i <= 5; i++) await ada.client.send(`earlier ${i}`);

    const cy = sdk(nodes[1]!);
    await cy.client.connect();
    const joined = await cy.client.join('recent');
    await cy.history.waitFor((h) => h.message === 'earlier 5', WAIT_MS, 'the history up to the last line');
    const lines: MessageFrame[] = cy.history.items.filter((h) => h.room === 'recent');
    assert.deepEqual(
      lines.map((h) => h.message),
      ['earlier 1', 'earlier 2', 'earlier 3', 'earlier 4', 'earlier 5'],
    );
    assert.ok(
      lines.every((h) => h.history === true && h.epoch === joined.epoch && h.seq <= joined.seq),
      'marked, at or before the join',
    );
    const live = cy.events.next('message', (m) => m.message === 'now', WAIT_MS, 'the live line');
    await ada.client.send('now');
    const now = await live;
    assert.equal(now.history, undefined);
    assert.ok(!cy.live.items.some((e) => e.message.startsWith('earlier')), 'history lines are never message events');
    assert.deepEqual(cy.gaps.items, []);
  });

  it('answers who and rooms with the members of every node', async () => {
    const ada = sdk(nodes[0]!);
    const bob = sdk(nodes[1]!);
    await Promise.all([ada.client.connect(), bob.client.connect()]);
    await Promise.all([ada.client.join('census'), bob.client.join('census')]);
    const members = await ada.client.who();
    assert.equal(members.room, 'census');
    assert.equal(members.count, 2);
    assert.deepEqual(new Set(members.members.map((m) => m.id)), new Set([ada.client.id, bob.client.id]));
    const { rooms } = await bob.client.rooms();
    assert.deepEqual(
      rooms.find((r) => r.room === 'census'),
      { room: 'census', count: 2 },
    );
  });

  it('refuses a nickname someone holds on another node, whatever its case, with NICK_TAKEN', async () => {
    const ada = sdk(nodes[0]!);
    const bob = sdk(nodes[1]!);
    await Promise.all([ada.client.connect(), bob.client.connect()]);
    await ada.client.setNick('Hopper');
    const before = bob.client.nickname;
    await assert.rejects(bob.client.setNick('hopper'), (err: ClientError) => err instanceof ClientError && err.code === 'NICK_TAKEN');
    assert.equal(bob.client.nickname, before);
  });

  it('resumes in its room on another node after its node is SIGKILLed: the lines missed there, in order', { timeout: 60_000 }, async () => {
    const lb = balancer(nodes[0]!.wsUrl);
    const dee = sdk(lb);
    const watcher = sdk(nodes[1]!);
    await Promise.all([dee.client.connect(), watcher.client.connect()]);
    await Promise.all([dee.client.join('stay'), watcher.client.join('stay')]);
    await watcher.client.send('before the kill');
    await dee.live.waitFor((e) => e.message === 'before the kill', WAIT_MS, 'the line before the kill');
    assert.equal(dee.client.resumePoint?.room, 'stay');

    lb.target = nodes[1]!.wsUrl;
    const reopened = dee.events.next('welcome', () => true, WAIT_MS, 'the welcome after the kill');
    const port = nodes[0]!.port;
    await nodes[0]!.kill();
    await watcher.client.send('while away');
    const welcome = await reopened;
    assert.equal(welcome.resumed, true);
    assert.equal(welcome.room, 'stay');
    await dee.live.waitFor((e) => e.message === 'while away', WAIT_MS, 'the line missed in #stay');
    assert.equal(dee.client.room, 'stay');
    assert.deepEqual(dee.failed.items, []);
    assert.deepEqual(dee.gaps.items, []);
    const seqs = dee.live.items.filter((e) => e.room === 'stay').map((e) => e.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => seqs[0]! + i),
      `contiguous, once each: ${seqs.join(',')}`,
    );
    nodes[0] = await start(1, port);
  });
});

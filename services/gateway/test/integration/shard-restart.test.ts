import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { ErrorCode, type BroadcastEvent, type EventDraft, type RoomName } from '@switchboard/protocol';
import { pino } from 'pino';
import { ChatClient, EventLog, GatewayProcess, RedisCluster, scrape, type RedisServer } from '@switchboard/testkit';
import type { BusLimits } from '../../src/bus/bus.js';
import { RedisBus } from '../../src/bus/redis-bus.js';
import { CAPABILITY_NAMES, FALLBACK_ENV } from '../../src/platform/capability.js';
import { untilReady } from '../contract/ready.js';

/** The gateways' key prefix (REDIS_PREFIX's default): a room's keys and channel carry the tag `{switchboard:<room>}`. */
const PREFIX = 'switchboard';
const tagOf = (room: RoomName) => `{${PREFIX}:${room}}`;
/** Room for every client's lines: no rate limit gets in the way of steady senders. */
const TIMINGS = {
  RESUME_GRACE_MS: '10000',
  LEASE_TTL_MS: '5000',
  SWEEP_INTERVAL_MS: '200',
  MESSAGE_RATE_PER_SEC: '1000',
  MESSAGE_BURST: '1000',
};
/**
 * Each node of the test's own cluster keeps its data across a restart (an
 * append-only file synced on every write), and the others keep serving while
 * one is away (without full coverage, a master that is down stops only its own slots).
 */
const REDIS_ARGS = ['--appendonly', 'yes', '--appendfsync', 'always', '--cluster-require-full-coverage', 'no'];
/** Lines every sender has had acknowledged before the restart, and again after it. */
const LINES_BEFORE = 10;
const LINES_AFTER = 10;
/** Longest wait for one line's acknowledgement (a restart and the resubscription included), or for a member to hear a line, in ms. */
const LINE_MS = 60_000;
/** How long a sender waits before sending a refused line again (BUS_UNAVAILABLE while the shard is away), in ms: as the SDK backs off. */
const RETRY_PAUSE_MS = 50;
const RETRYABLE = new Set<string>([ErrorCode.BUS_UNAVAILABLE, ErrorCode.RATE_LIMITED]);
/** The history bounds of the test's own publisher (the gateways' are their defaults). */
const BUS_LIMITS: BusLimits = {
  historyMaxEvents: 1_000,
  historyMaxAgeMs: 600_000,
  historyMaxBytes: 1_000_000,
  refsPerClient: 100,
  historyOnJoin: 50,
};

/** A v2 client in a room that sends lines one after another, each again with its `ref` until acknowledged. */
interface Member {
  readonly label: string;
  readonly room: RoomName;
  readonly client: ChatClient;
  /** Its lines acknowledged so far, in the order sent. */
  readonly sent: string[];
}

/**
 * Send `text` with `ref` until it is acknowledged: its own broadcast (the echo),
 * or an `ack` (a resend of a line that was broadcast after all); a retryable
 * refusal is sent again with the same ref, which the bus never broadcasts twice.
 */
async function deliver(client: ChatClient, text: string, ref: string): Promise<void> {
  for (;;) {
    const from = client.frames.items.length;
    client.sendJson({ type: 'message', message: text, ref });
    const answer = await client.frames.waitFor(
      (f) => 'ref' in f && f.ref === ref && (f.type === 'error' || f.type === 'ack' || (f.type === 'message' && f.id === client.id)),
      LINE_MS,
      `the acknowledgement of "${text}"`,
      from,
    );
    if (answer.type !== 'error') return;
    assert.ok(RETRYABLE.has(answer.code), `"${text}" refused for good: ${answer.code}`);
    await delay(RETRY_PAUSE_MS);
  }
}

/** The lines of `room` a client received live (not the recent lines sent after a join), in arrival order. */
const linesIn = (client: ChatClient, room: RoomName): BroadcastEvent[] =>
  client.events.filter((e) => e.room === room && e.type === 'message' && e.history !== true);
/** Every broadcast of `room` a client received live. */
const liveIn = (client: ChatClient, room: RoomName): BroadcastEvent[] =>
  client.events.filter((e) => e.room === room && !(e.type === 'message' && e.history === true));

/**
 * A shard of a 3-master Redis Cluster goes away under rooms it serves: its
 * master restarts (stopped, then started again on its port with its data) while
 * two rooms are busy, or every node's subscriber to it is cut while a room is
 * quiet. What was published while a node's subscriber was away reaches that node
 * only from the room's history: a catch-up started when the Cluster says the
 * subscriber is back and subscribed again (platform/ioredis-cluster.ts). A third
 * gateway runs every fallback instead (FALLBACK_ENV=all): it catches up on its
 * periodic resync, frames by itself and writes through ws's send().
 */
describe('a shard of a 3-master Redis Cluster going away under its rooms', { timeout: 300_000 }, () => {
  let cluster: RedisCluster;
  let nodes: GatewayProcess[] = [];
  const clients: ChatClient[] = [];
  let fresh = 0;

  before(async () => {
    cluster = await RedisCluster.start({ args: REDIS_ARGS });
    const env = { REDIS_CLUSTER: cluster.seeds, METRICS_PORT: '0', ...TIMINGS };
    nodes = await Promise.all([
      GatewayProcess.start({ env: { ...env, NODE_ID: 'node-1' } }),
      GatewayProcess.start({ env: { ...env, NODE_ID: 'node-2' } }),
      GatewayProcess.start({ env: { ...env, NODE_ID: 'fallbacks', [FALLBACK_ENV]: 'all' } }),
    ]);
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(nodes.map((n) => n.kill()));
    await cluster?.dispose();
  });

  /** A room never used before whose keys and channel live on `shard`. */
  async function roomOn(shard: RedisServer, label: string): Promise<RoomName> {
    for (;;) {
      const room = `${label}-${++fresh}`;
      if ((await cluster.nodeFor(tagOf(room))).port === shard.port) return room;
    }
  }

  /** A v2 client on `node`, moved to `room`. */
  async function memberOf(node: GatewayProcess, room: RoomName): Promise<Member> {
    const client = await ChatClient.connect(node.wsUrl, { hello: {} });
    clients.push(client);
    const from = client.frames.items.length;
    client.sendJson({ type: 'join', room, ref: `join-${room}` });
    await client.frames.waitFor((f) => f.type === 'joined' && f.room === room, LINE_MS, `#${room} joined`, from);
    return { label: `${room}@${node.nodeId}`, room, client, sent: [] };
  }

  it('says at start-up which library internals each node uses, in its log and its gauges: all, or none when ruled out', async () => {
    for (const [node, inUse] of [
      [nodes[0]!, true],
      [nodes[2]!, false],
    ] as const) {
      const line = node.logs.items.find((l) => l.module === 'platform');
      assert.ok(line, `${node.nodeId} logs its capabilities`);
      assert.deepEqual(line.inUse, inUse ? [...CAPABILITY_NAMES] : []);
      assert.deepEqual(line.fallback, inUse ? [] : [...CAPABILITY_NAMES]);
      const gauges = await scrape(`${node.metricsUrl}/metrics`);
      for (const name of CAPABILITY_NAMES)
        assert.equal(gauges.value('switchboard_capability', { name }), inUse ? 1 : 0, `${node.nodeId}: ${name}`);
    }
  });

  /** A master that serves neither the sessions ({switchboard}) nor the lobby: only rooms of the test are away while it is. */
  async function roomsShard(): Promise<RedisServer> {
    const elsewhere = new Set([(await cluster.nodeFor(`{${PREFIX}}`)).port, (await cluster.nodeFor(tagOf('lobby'))).port]);
    return cluster.nodes.find((n) => !elsewhere.has(n.port))!;
  }

  it('delivers every line of two busy rooms to every member, in order, once, across a restart of their master', async () => {
    const shard = await roomsShard();
    const rooms = [await roomOn(shard, 'busy'), await roomOn(shard, 'busy')];
    // In each room, one member on every gateway; every member sends.
    const members = await Promise.all(rooms.flatMap((room) => nodes.map((node) => memberOf(node, room))));

    const progress = new EventLog<{ label: string; sent: number }>();
    let sending = true;
    const senders = members.map(async (member) => {
      for (let i = 1; sending; i++) {
        const text = `${member.label} line ${i}`;
        await deliver(member.client, text, `line-${i}`);
        member.sent.push(text);
        progress.push({ label: member.label, sent: member.sent.length });
      }
    });
    /** Resolves once every member has had `counts[i]` lines acknowledged. */
    const untilSent = (counts: readonly number[]) =>
      Promise.all(
        members.map((m, i) =>
          progress.waitFor((p) => p.label === m.label && p.sent >= counts[i]!, LINE_MS, `${m.label}: ${counts[i]} lines`),
        ),
      );

    await untilSent(members.map(() => LINES_BEFORE));
    await shard.stop();
    await shard.restart();
    await untilSent(members.map((m) => m.sent.length + LINES_AFTER));
    sending = false;
    await Promise.all(senders);

    for (const room of rooms) {
      const inRoom = members.filter((m) => m.room === room);
      const sent = inRoom.flatMap((m) => m.sent);
      for (const { label, client } of inRoom) {
        for (const sender of inRoom) await client.waitForMessage('message', sender.sent.at(-1)!, LINE_MS);
        const lines = linesIn(client, room);
        const texts = lines.map((e) => e.message);
        assert.deepEqual([...texts].sort(), [...sent].sort(), `${label}: every line of #${room}, once`);
        for (const sender of inRoom) {
          assert.deepEqual(
            texts.filter((text) => text.startsWith(`${sender.label} `)),
            sender.sent,
            `${label}: the lines of ${sender.label} in the order sent`,
          );
        }
        const seqs = liveIn(client, room).map((e) => e.seq);
        assert.deepEqual(
          seqs,
          seqs.map((_, i) => seqs[0]! + i),
          `${label}: contiguous seqs in #${room}`,
        );
      }
      // One order for the room, whichever gateway a member is on.
      const orders = inRoom.map((m) => linesIn(m.client, room).map((e) => `${e.seq} ${e.message}`));
      for (const order of orders) assert.deepEqual(order, orders[0], `#${room}: the same order everywhere`);
    }
  });

  it('catches up on a line published while the shard subscribers were away, with no later line to show the gap', async () => {
    const shard = await roomsShard();
    const room = await roomOn(shard, 'quiet');
    const members = await Promise.all(nodes.map((node) => memberOf(node, room)));
    // A publisher of the test's own, as a gateway publishes (seq, history, then the room's channel).
    const publisher = new RedisBus({
      ...BUS_LIMITS,
      target: { clusterNodes: cluster.seedNodes },
      prefix: PREFIX,
      nodeId: 'publisher',
      logger: pino({ level: 'silent' }),
    });
    publisher.start(() => undefined);
    try {
      await untilReady({ ready: () => publisher.health().ready, onHealthChange: (l) => publisher.onHealthChange(l) }, 'the publisher');
      const line = (message: string): EventDraft => ({
        type: 'message',
        room,
        id: 'publisher-1',
        nickname: 'publisher',
        message,
        time: Date.now(),
      });
      await publisher.publish(line('before the drop'));
      for (const { client } of members) await client.waitForMessage('message', 'before the drop', LINE_MS);

      // Every node's subscriber to the shard is cut, and the line is published on the next round trip:
      // before any node has subscribed again (that takes ioredis several). Nothing follows it.
      const killed = Number(await shard.cli('CLIENT', 'KILL', 'TYPE', 'pubsub'));
      await publisher.publish(line('published while no node listened'));
      assert.ok(killed >= nodes.length, `every node's subscriber was cut (${killed})`);
      for (const { label, client } of members) {
        await client.waitForMessage('message', 'published while no node listened', LINE_MS);
        assert.deepEqual(
          linesIn(client, room).map((e) => e.message),
          ['before the drop', 'published while no node listened'],
          label,
        );
      }
    } finally {
      await publisher.close();
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  DEFAULT_ROOM,
  ErrorCode,
  type BroadcastEvent,
  type ClusterSnapshot,
  type MembersFrame,
  type RoomName,
} from '@switchboard/protocol';
import { ChatClient, eventually, GatewayProcess, RedisCluster, type RedisServer } from '@switchboard/testkit';

/** The gateways' key prefix (REDIS_PREFIX's default): a room's keys and channel carry the tag `{switchboard:<room>}`. */
const PREFIX = 'switchboard';
/**
 * Short leases, so a SIGKILLed node's sessions end within the test; a grace
 * long enough for a v2 client to come back on a busy machine.
 */
const TIMINGS = { RESUME_GRACE_MS: '5000', LEASE_TTL_MS: '3000', SWEEP_INTERVAL_MS: '200', MESSAGE_BURST: '1000' };
/** Longest wait for a dead node's sessions to end, or for a subscription count to change, in ms. */
const SETTLE_MS = 30_000;
/** How often a subscription count (or /cluster.json, at four times this) is read again while waiting on it, in ms. */
const POLL_MS = 50;

/** A room's sharded pub/sub channel, as the gateway names it (redis/keys.ts). */
const channelOf = (room: RoomName) => `{${PREFIX}:${room}}:events`;
/** The hash tag of a room's keys: which shard serves it. */
const tagOf = (room: RoomName) => `{${PREFIX}:${room}}`;

const v2 = (url: string, hello: object = {}) => ChatClient.connect(url, { hello });

/** Every broadcast of `room` a client received, live ones only (no history lines). */
const liveIn = (client: ChatClient, room: RoomName): BroadcastEvent[] =>
  client.events.filter((e) => e.room === room && !(e.type === 'message' && e.history === true));

function assertContiguous(events: readonly BroadcastEvent[], what: string): void {
  const seqs = events.map((e) => e.seq);
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => seqs[0]! + i),
    `${what}: contiguous seqs, once each (${seqs.join(',')})`,
  );
}

/**
 * Rooms, presence, unique nicknames, history and resume on a real 3-master
 * Redis Cluster under three gateways: each room's keys and channel live on the
 * shard its name hashes to, and a node subscribes to a room only while it has
 * members there.
 */
describe('rooms on a 3-master Redis Cluster under three gateways', { timeout: 300_000 }, () => {
  let cluster: RedisCluster;
  let nodes: GatewayProcess[] = [];
  const extra: GatewayProcess[] = [];
  const clients: ChatClient[] = [];
  let fresh = 0;

  const start = (name: string) =>
    GatewayProcess.start({ env: { REDIS_CLUSTER: cluster.seeds, NODE_ID: name, METRICS_PORT: '0', ...TIMINGS } });

  /** A seed client on `node`, moved to `room` (unless it is the lobby): resolves once it is in. */
  async function seedIn(node: GatewayProcess, room: RoomName): Promise<ChatClient> {
    const client = await ChatClient.connect(node.wsUrl);
    clients.push(client);
    if (room !== DEFAULT_ROOM) await join(client, room);
    return client;
  }

  /** A v2 client on `node`, moved to `room`. */
  async function v2In(node: GatewayProcess, room: RoomName, hello: object = {}): Promise<ChatClient> {
    const client = await v2(node.wsUrl, hello);
    clients.push(client);
    if (room !== DEFAULT_ROOM) await join(client, room);
    return client;
  }

  /** Move `client` to `room` (`/join`, or a v2 join frame) and wait for the answer. */
  async function join(client: ChatClient, room: RoomName): Promise<void> {
    const from = client.frames.items.length;
    if (client.welcome.session === undefined) client.send(`/join ${room}`);
    else client.sendJson({ type: 'join', room, ref: `join-${room}` });
    await client.frames.waitFor((f) => f.type === 'joined' && f.room === room, 10_000, `#${room} joined`, from);
  }

  /** Ask `/who` (or a v2 who frame) and wait for the answer. */
  async function who(client: ChatClient): Promise<MembersFrame> {
    const from = client.frames.items.length;
    if (client.welcome.session === undefined) client.send('/who');
    else client.sendJson({ type: 'who', ref: `who-${from}` });
    return (await client.frames.waitFor((f) => f.type === 'members', 10_000, 'the members', from)) as MembersFrame;
  }

  /** A room never used before whose keys and channel live on `shard`. */
  async function roomOn(shard: RedisServer, label: string): Promise<RoomName> {
    for (;;) {
      const room = `${label}-${++fresh}`;
      if ((await cluster.nodeFor(tagOf(room))).port === shard.port) return room;
    }
  }

  /** How many connections are subscribed to `room`'s channel, on the shard that serves it. */
  async function subscribers(room: RoomName): Promise<number> {
    const channel = channelOf(room);
    const shard = await cluster.nodeFor(channel);
    const [name, count] = (await shard.cli('PUBSUB', 'SHARDNUMSUB', channel)).trim().split('\n');
    assert.equal(name, channel);
    return Number(count);
  }

  /** Wait until `room`'s subscriber count is `expected`: a node (un)subscribes just after it answers its client. */
  async function untilSubscribers(room: RoomName, expected: number): Promise<void> {
    await eventually(
      async () => {
        const count = await subscribers(room);
        assert.ok(count === expected, `#${room} has ${count} subscribers, not ${expected}`);
        return true;
      },
      { timeoutMs: SETTLE_MS, intervalMs: POLL_MS, what: `#${room} to have ${expected} subscribers` },
    );
  }

  before(async () => {
    cluster = await RedisCluster.start();
    nodes = await Promise.all([1, 2, 3].map((n) => start(`node-${n}`)));
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled([...nodes, ...extra].map((n) => n.kill()));
    await cluster?.dispose();
  });

  it("shows every gateway in any node's /cluster.json (the live dashboard), each on the redis-cluster bus", async () => {
    const names = nodes.map((n) => n.nodeId).sort();
    const listed = (snapshot: ClusterSnapshot) => snapshot.nodes.map((n) => n.node).filter((n) => names.includes(n));
    const snapshot = await eventually(
      async () => {
        const read = (await (await fetch(`${nodes[2]!.metricsUrl}/cluster.json`)).json()) as ClusterSnapshot;
        assert.ok(listed(read).length === names.length, `listed: ${JSON.stringify(read.nodes.map((n) => n.node))}`);
        return read;
      },
      { timeoutMs: SETTLE_MS, intervalMs: POLL_MS * 4, what: "every gateway in node-3's /cluster.json" },
    );
    assert.deepEqual(listed(snapshot), names, `every gateway listed (${JSON.stringify(snapshot.nodes.map((n) => n.node))})`);
    for (const node of snapshot.nodes) assert.equal(node.bus, 'redis-cluster');
  });

  it('carries each room across gateways from its own shard, and no line leaves its room', async () => {
    // One room per master: their keys and channels live on three different shards.
    const rooms = await Promise.all(cluster.nodes.map((shard, i) => roomOn(shard, `shard${i}`)));
    const owners = await Promise.all(rooms.map(async (room) => (await cluster.nodeFor(channelOf(room))).port));
    assert.equal(new Set(owners).size, 3, `the rooms are served by three different masters (${owners.join(', ')})`);

    // In every room, one client on every gateway.
    const members = await Promise.all(rooms.map((room) => Promise.all(nodes.map((node) => seedIn(node, room)))));
    for (const [r, room] of rooms.entries()) {
      for (const [n, client] of members[r]!.entries()) client.send(`hello #${room} from node-${n + 1}`);
    }
    for (const [r, room] of rooms.entries()) {
      for (const client of members[r]!) {
        for (const n of [1, 2, 3]) await client.waitForMessage('message', `hello #${room} from node-${n}`);
      }
    }
    // A barrier in every room: anything of another room that a node passed on by mistake would be here by now.
    await Promise.all(members.flat().map((c) => c.barrier('isolation')));

    for (const [r, room] of rooms.entries()) {
      for (const [n, client] of members[r]!.entries()) {
        const strays = client.events.filter((e) => e.room !== room && e.room !== DEFAULT_ROOM);
        assert.deepEqual(
          strays.map((e) => `${e.room}: ${e.message}`),
          [],
          `the client of #${room} on node-${n + 1} heard nothing of another room`,
        );
        const lines = client.events.filter((e) => e.type === 'message' && e.message.startsWith('hello #'));
        assert.deepEqual(new Set(lines.map((e) => e.message)), new Set([1, 2, 3].map((k) => `hello #${room} from node-${k}`)));
        assertContiguous(liveIn(client, room), `#${room} on node-${n + 1}`);
      }
      // One order per room, whichever gateway a client is on.
      const orders = members[r]!.map((c) =>
        liveIn(c, room)
          .filter((e) => e.type === 'message' && e.message.startsWith('hello #'))
          .map((e) => `${e.seq} ${e.message}`),
      );
      for (const order of orders) assert.deepEqual(order, orders[0], `#${room}: the same order everywhere`);
    }
  });

  it("lists a room's members on every node in /who, and drops a SIGKILLed node's members as their sessions end", async () => {
    const room = await roomOn(cluster.nodes[1]!, 'census');
    const doomed = await start('node-doomed');
    extra.push(doomed);
    const watcher = await seedIn(nodes[0]!, room);
    const modern = await v2In(nodes[1]!, room);
    const gone = await seedIn(doomed, room);
    const goneV2 = await v2In(doomed, room);
    const everyone = [watcher, modern, gone, goneV2];

    const before = await who(watcher);
    assert.equal(before.room, room);
    assert.equal(before.count, 4);
    assert.deepEqual(new Set(before.members.map((m) => m.id)), new Set(everyone.map((c) => c.id)));
    for (const c of everyone) assert.ok(before.message.includes(c.welcome.nickname), `/who names ${c.welcome.nickname}`);
    const asV2 = await who(modern);
    assert.deepEqual(new Set(asV2.members.map((m) => m.id)), new Set(everyone.map((c) => c.id)), 'the v2 answer lists the same');

    await doomed.kill();
    for (const c of [gone, goneV2]) {
      const notice = await watcher.waitFor(
        (f) => f.type === 'notification' && f.id === c.id && f.event === 'disconnected',
        `${c.welcome.nickname} has disconnected`,
        SETTLE_MS,
      );
      assert.equal((notice as BroadcastEvent).room, room);
    }
    // The notices and the member list change together: once announced, they are gone from the list.
    const afterKill = await who(watcher);
    assert.equal(afterKill.count, 2);
    assert.deepEqual(new Set(afterKill.members.map((m) => m.id)), new Set([watcher.id, modern.id]));
    assert.deepEqual(new Set((await who(modern)).members.map((m) => m.id)), new Set([watcher.id, modern.id]));
    await watcher.barrier('after the kill');
    for (const c of [gone, goneV2]) {
      assert.equal(watcher.events.filter((e) => e.id === c.id && e.type === 'notification' && e.event === 'disconnected').length, 1);
    }
  });

  it('refuses a nickname held on another node, whatever its case, with NICK_TAKEN', async () => {
    const holder = await seedIn(nodes[0]!, DEFAULT_ROOM);
    const seed = await seedIn(nodes[2]!, DEFAULT_ROOM);
    const modern = await v2In(nodes[1]!, DEFAULT_ROOM);
    holder.send('/nick Hopper');
    await holder.waitForMessage('nick_update', `Client ${holder.welcome.nickname} changed to Hopper`);

    seed.send('/nick hopper');
    const refused = await seed.waitFor((f) => f.type === 'error', 'NICK_TAKEN');
    assert.equal((refused as { code: string }).code, ErrorCode.NICK_TAKEN);
    modern.sendJson({ type: 'nick', nickname: 'HOPPER', ref: 'nick-1' });
    const refusedV2 = await modern.waitFor((f) => f.type === 'error' && f.ref === 'nick-1', 'NICK_TAKEN with the ref');
    assert.equal((refusedV2 as { code: string }).code, ErrorCode.NICK_TAKEN);

    await holder.barrier('nicks');
    assert.ok(!holder.events.some((e) => e.type === 'nick_update' && e.nickname.toLowerCase() === 'hopper' && e.id !== holder.id));
    // Freed when its holder renames: then the other node can take it.
    holder.send('/nick Grace');
    await holder.waitForMessage('nick_update', 'Client Hopper changed to Grace');
    seed.send('/nick hopper');
    await holder.waitForMessage('nick_update', `Client ${seed.welcome.nickname} changed to hopper`);
  });

  it('sends the recent lines of a room on a shard of its own after joined, in order, marked history', async () => {
    const defaults = new Set([(await cluster.nodeFor(`{${PREFIX}}`)).port, (await cluster.nodeFor(tagOf(DEFAULT_ROOM))).port]);
    const shard = cluster.nodes.find((n) => !defaults.has(n.port))!;
    const room = await roomOn(shard, 'recent');
    assert.ok(!defaults.has((await cluster.nodeFor(channelOf(room))).port), 'neither the lobby shard nor the sessions shard');

    const talker = await seedIn(nodes[0]!, room);
    for (let i = 1; i <= 5; i++) talker.send(`earlier ${i}`);
    await talker.waitForMessage('message', 'earlier 5');

    const late = await seedIn(nodes[2]!, DEFAULT_ROOM);
    const from = late.frames.items.length;
    await join(late, room);
    await late.frames.waitFor((f) => f.type === 'message' && f.message === 'earlier 5', 10_000, 'the last earlier line', from);
    const arrived = late.frames.items.slice(from);
    const joinedAt = arrived.findIndex((f) => f.type === 'joined');
    const history = arrived.filter((f) => f.type === 'message' && f.room === room);
    assert.deepEqual(
      history.map((f) => f.message),
      ['earlier 1', 'earlier 2', 'earlier 3', 'earlier 4', 'earlier 5'],
    );
    assert.ok(
      history.every((f) => f.type === 'message' && f.history === true),
      'every earlier line is marked history',
    );
    assert.ok(arrived.indexOf(history[0]!) > joinedAt, 'after the joined answer');

    talker.send('now');
    const now = await late.waitForMessage('message', 'now');
    assert.ok(now.type === 'message' && now.history === undefined, 'a live line is not history');
    assert.equal(now.room, room);
  });

  it('resumes a v2 client in its room on another node with nothing lost, in order', async () => {
    const room = await roomOn(cluster.nodes[2]!, 'stay');
    const watcher = await seedIn(nodes[2]!, room);
    const dee = await v2In(nodes[0]!, room);
    watcher.send('before the drop');
    await dee.waitForMessage('message', 'before the drop');
    const last = liveIn(dee, room).at(-1)!;
    const hello = { session: dee.welcome.session!, since: last.seq, epoch: last.epoch, room };

    dee.reset();
    for (const text of ['missed 1', 'missed 2', 'missed 3']) watcher.send(text);
    await watcher.waitForMessage('message', 'missed 3');

    const back = await v2In(nodes[1]!, DEFAULT_ROOM, hello);
    assert.equal(back.welcome.resumed, true);
    assert.equal(back.welcome.room, room);
    assert.equal(back.id, dee.id);
    assert.equal(back.node, 'node-2');
    await back.waitForMessage('message', 'missed 3');
    watcher.send('live after the resume');
    await back.waitForMessage('message', 'live after the resume');

    const events = liveIn(back, room);
    assert.equal(events[0]!.seq, hello.since + 1, 'from the first event missed');
    assertContiguous(events, `#${room} after the resume`);
    assert.deepEqual(
      events.filter((e) => e.type === 'message').map((e) => e.message),
      ['missed 1', 'missed 2', 'missed 3', 'live after the resume'],
    );
    await watcher.barrier('resume');
    assert.ok(
      !watcher.events.some((e) => e.type === 'notification' && e.id === dee.id && e.event === 'disconnected'),
      'no disconnect within the grace',
    );
  });

  it('subscribes a node to a room only while it has members there, on the shard that serves the room', async () => {
    const room = await roomOn(cluster.nodes[0]!, 'subs');
    assert.equal(await subscribers(room), 0, 'no one there yet');

    const one = await seedIn(nodes[0]!, room);
    await untilSubscribers(room, 1);
    const two = await seedIn(nodes[1]!, room);
    const twoToo = await v2In(nodes[1]!, room);
    await untilSubscribers(room, 2);
    // node-3 has no member in the room: it is not subscribed, so it is not sent the room's lines.
    const elsewhere = await seedIn(nodes[2]!, DEFAULT_ROOM);
    one.send('for #subs only');
    await Promise.all([two, twoToo].map((c) => c.waitForMessage('message', 'for #subs only')));
    assert.equal(await subscribers(room), 2, 'node-1 and node-2, not node-3');

    // node-2's first member leaves: it still has one, so it stays subscribed.
    await join(twoToo, DEFAULT_ROOM);
    assert.equal(await subscribers(room), 2);
    one.send('still heard on node-2');
    await two.waitForMessage('message', 'still heard on node-2');

    // Its last member leaves: node-2 unsubscribes; then node-1's, and no one is subscribed.
    await join(two, DEFAULT_ROOM);
    await untilSubscribers(room, 1);
    one.send('only node-1 now');
    await one.waitForMessage('message', 'only node-1 now');
    await one.close();
    await untilSubscribers(room, 0);

    await elsewhere.barrier('lobby');
    assert.ok(!elsewhere.events.some((e) => e.room === room), 'the lobby client on node-3 heard nothing of the room');
  });
});

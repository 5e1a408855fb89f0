import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { BroadcastEvent, EventDraft } from '@switchboard/protocol';
import { ChatClient, EventLog, GatewayProcess, RedisServer, eventually } from '@switchboard/testkit';
import { BusUnavailableError, type BusLimits } from '../../src/bus/bus.js';
import { RedisBus, type ReplicaAckOptions } from '../../src/bus/redis-bus.js';
import { keySlot } from '../../src/redis/key-slot.js';
import { RedisKeys } from '../../src/redis/keys.js';
import { untilReady } from '../contract/ready.js';

const logger = pino({ level: 'silent' });
const LIMITS: BusLimits = {
  historyMaxEvents: 1_000,
  historyMaxAgeMs: 600_000,
  historyMaxBytes: 1_000_000,
  refsPerClient: 100,
  historyOnJoin: 50,
};
/** A WAIT short enough for a test, long enough for a loaded machine's healthy replica. */
const WAIT_MS = 1_000;
const LINE_MS = 30_000;

let tests = 0;
const line = (message: string, ref: string): EventDraft => ({
  type: 'message',
  room: 'lobby',
  id: 'client-1',
  nickname: 'ann',
  message,
  time: 0,
  ref,
});

/** A master and its replica (a second redis-server started with --replicaof), linked and in sync. */
async function replicatedPair(): Promise<{ master: RedisServer; replica: RedisServer }> {
  const master = await RedisServer.start();
  const replica = await RedisServer.start({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
  await eventually(async () => /master_link_status:up/.test(await replica.cli('INFO', 'replication')), {
    what: 'the replica to be linked',
    timeoutMs: 20_000,
  });
  return { master, replica };
}

/** One bus (node-1) on `master`, ready and subscribed to lobby, with what it delivers. */
async function loneBus(
  master: RedisServer,
  prefix: string,
  acks: ReplicaAckOptions,
): Promise<{ bus: RedisBus; events: EventLog<BroadcastEvent> }> {
  const bus = new RedisBus({
    ...LIMITS,
    ...acks,
    target: { url: master.url },
    prefix: `${prefix}-${process.pid}`,
    nodeId: 'node-1',
    logger,
  });
  const events = new EventLog<BroadcastEvent>();
  bus.start((e) => events.push(e));
  await untilReady({ ready: () => bus.health().ready, onHealthChange: (l) => bus.onHealthChange(l) }, 'bus');
  await bus.subscribe('lobby');
  return { bus, events };
}

describe('a line is acknowledged only once a replica has it (WAIT)', { timeout: 120_000 }, () => {
  let master: RedisServer;
  let replica: RedisServer;
  const buses: RedisBus[] = [];

  before(async () => {
    ({ master, replica } = await replicatedPair());
  });
  afterEach(async () => {
    if (replica.pid !== undefined) process.kill(replica.pid, 'SIGCONT');
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });
  after(async () => {
    await replica?.dispose();
    await master?.dispose();
  });

  async function node(
    prefix: string,
    id: string,
    acks: ReplicaAckOptions = {},
  ): Promise<{ bus: RedisBus; events: EventLog<BroadcastEvent> }> {
    const bus = new RedisBus({ ...LIMITS, redisWaitTimeoutMs: WAIT_MS, ...acks, target: { url: master.url }, prefix, nodeId: id, logger });
    buses.push(bus);
    const events = new EventLog<BroadcastEvent>();
    bus.start((e) => events.push(e));
    await untilReady({ ready: () => bus.health().ready, onHealthChange: (l) => bus.onHealthChange(l) }, `bus ${id}`);
    await bus.subscribe('lobby');
    return { bus, events };
  }

  /** Publish, resending while refused (as the SDK does): after SIGCONT the replica may take a moment to catch up. */
  async function publishAcked(bus: RedisBus, draft: EventDraft) {
    return eventually(() => bus.publish(draft), { what: `"${draft.message}" acknowledged`, timeoutMs: LINE_MS });
  }

  it('has the replica hold every line whose publish resolved', async () => {
    const prefix = `acks-${process.pid}-${++tests}`;
    const { bus } = await node(prefix, 'node-1');
    const probe = new Redis(replica.url);
    try {
      for (let i = 1; i <= 20; i++) {
        const placed = await bus.publish(line(`line ${i}`, `r${i}`));
        // Read on the replica the moment the publish resolved: WAIT said it had it.
        const held = await probe.xrange(new RedisKeys(prefix).room('lobby').history, `0-${placed.seq}`, `0-${placed.seq}`);
        assert.equal(held.length, 1, `line ${i} (seq ${placed.seq}) is on the replica when acknowledged`);
      }
    } finally {
      probe.disconnect();
    }
  });

  it('refuses a line the frozen replica lacks; after SIGCONT its resend is acknowledged once and delivered once', async () => {
    const prefix = `acks-${process.pid}-${++tests}`;
    const sender = await node(prefix, 'node-1');
    const peer = await node(prefix, 'node-2');
    await publishAcked(sender.bus, line('before', 'r0'));
    process.kill(replica.pid!, 'SIGSTOP');
    await assert.rejects(sender.bus.publish(line('frozen', 'r1')), BusUnavailableError, 'refused: the replica does not have it');
    // While the shard is short, one publish at a time waits; the rest are refused at once.
    const [waiting, atOnce] = await Promise.allSettled([sender.bus.publish(line('second', 'r2')), sender.bus.publish(line('third', 'r3'))]);
    assert.equal(waiting.status, 'rejected');
    assert.equal(atOnce.status, 'rejected');
    assert.equal(sender.events.items.filter((e) => e.ref === 'r1').length, 0, 'a refused line is not broadcast');
    // Nor read: stored, it stays hidden from the head, the history and the recent lines until a replica has it.
    const head = await peer.bus.head('lobby');
    const read = await peer.bus.history('lobby', { epoch: head.epoch, seq: 0 });
    assert.ok(read.ok);
    assert.deepEqual(
      read.events.map((e) => e.message),
      ['before'],
    );
    assert.deepEqual(
      (await peer.bus.recent('lobby', 10)).lines.map((e) => e.message),
      ['before'],
    );
    assert.equal(head.seq, read.events[0]!.seq, 'the head is the last line released');
    process.kill(replica.pid!, 'SIGCONT');
    const resent = await publishAcked(sender.bus, line('frozen', 'r1'));
    assert.equal(resent.duplicate, true, 'the resend finds the stored original');
    const next = await publishAcked(sender.bus, line('after', 'r4'));
    assert.equal(next.duplicate, false);
    for (const { events } of [sender, peer]) {
      await events.waitFor((e) => e.ref === 'r4', LINE_MS, 'the line after');
      const frozen = events.items.filter((e) => e.ref === 'r1');
      assert.equal(frozen.length, 1, 'delivered once');
      assert.equal(frozen[0]!.seq, resent.seq);
    }
    // The history holds it once, where the resend said.
    const history = await sender.bus.history('lobby', { epoch: resent.epoch, seq: 0 });
    assert.ok(history.ok);
    assert.deepEqual(
      history.events.filter((e) => e.message === 'frozen').map((e) => e.seq),
      [resent.seq],
    );
  });

  it('publishes a refused line when its resend needs no replica any more (a promoted one): acknowledged, delivered and read once', async () => {
    const prefix = `acks-${process.pid}-${++tests}`;
    const sender = await node(prefix, 'node-1');
    // The same shard as another node sees it once its replica is gone (promoted, forgotten): nothing to wait for.
    const unwaited = await node(prefix, 'node-2', { redisMinReplicasAck: 0 });
    await publishAcked(sender.bus, line('before', 'r0'));
    process.kill(replica.pid!, 'SIGSTOP');
    await assert.rejects(sender.bus.publish(line('stored, not sent', 'r1')), BusUnavailableError);
    // The client resends it to a node that waits for no replica: the stored original is the line.
    const resent = await unwaited.bus.publish(line('stored, not sent', 'r1'));
    assert.equal(resent.duplicate, true, 'the resend finds the stored original');
    const next = await unwaited.bus.publish(line('after', 'r2'));
    for (const { events } of [sender, unwaited]) {
      await events.waitFor((e) => e.ref === 'r2', LINE_MS, 'the line after');
      const original = events.items.filter((e) => e.ref === 'r1');
      assert.equal(original.length, 1, 'the acknowledged line was broadcast, once');
      assert.equal(original[0]!.seq, resent.seq);
    }
    const history = await unwaited.bus.history('lobby', { epoch: next.epoch, seq: 0 });
    assert.ok(history.ok);
    assert.deepEqual(
      history.events.map((e) => e.message),
      ['before', 'stored, not sent', 'after'],
    );
  });

  it('waits for no replica with REDIS_MIN_REPLICAS_ACK 0: a frozen replica does not hold lines up', async () => {
    const prefix = `acks-${process.pid}-${++tests}`;
    const { bus } = await node(prefix, 'node-1', { redisMinReplicasAck: 0 });
    process.kill(replica.pid!, 'SIGSTOP');
    const placed = await bus.publish(line('unwaited', 'r1'));
    assert.equal(placed.duplicate, false);
  });
});

describe('a replica that went is still waited for, for REPLICA_FORGET_MS', { timeout: 120_000 }, () => {
  const FORGET_MS = 6_000;
  // The replicas are counted every second, so the replica was last seen up to a second (more on a loaded machine:
  // CI at 9f11849 saw the line acknowledged under 2 s after the kill with a 3 s memory) before it was killed: the
  // memory is 6 s, and the line must stay refused for at least half of it.
  it('refuses lines while the lost replica is remembered, then acknowledges them without it', async () => {
    const { master, replica } = await replicatedPair();
    let bus: RedisBus | undefined;
    try {
      const { bus: forgetting } = await loneBus(master, 'forget', { redisWaitTimeoutMs: 300, replicaForgetMs: FORGET_MS });
      bus = forgetting;
      await forgetting.publish(line('with the replica', 'r0'));
      await replica.kill();
      const lost = Date.now();
      await assert.rejects(forgetting.publish(line('replica gone', 'r1')), BusUnavailableError);
      const placed = await eventually(() => forgetting.publish(line('replica gone', 'r1')), {
        what: 'the line acknowledged without the replica',
        timeoutMs: LINE_MS,
      });
      assert.ok(Date.now() - lost >= FORGET_MS / 2, `not acknowledged while the replica was remembered (${Date.now() - lost} ms)`);
      assert.equal(placed.duplicate, true, 'the first try was stored: the resend finds it');
    } finally {
      await bus?.close();
      await replica.dispose();
      await master.dispose();
    }
  });
});

describe('a publish waiting for its replica, when the shard changes under it', { timeout: 120_000 }, () => {
  // What a publish meets on a promoted replica before it is counted again: its script ran on a master that has no
  // replica, and the count it began with says it has one. Refused at the end of REDIS_WAIT_TIMEOUT_MS, every line
  // on that shard would wait out the timeout; asked again between WAIT slices, it is acknowledged as soon as the
  // shard is counted with none (REPLICA_FORGET_MS 0: a master whose replica went needs none at once).
  it('is acknowledged once its shard is counted with no replica, not refused at the end of its wait', async () => {
    const { master, replica } = await replicatedPair();
    let bus: RedisBus | undefined;
    try {
      const lone = await loneBus(master, 'gone', { redisWaitTimeoutMs: LINE_MS, replicaForgetMs: 0 });
      bus = lone.bus;
      const { events } = lone;
      await bus.publish(line('with the replica', 'r0'));
      process.kill(replica.pid!, 'SIGSTOP');
      const waiting = bus.publish(line('replica frozen, then gone', 'r1'));
      // The master still counts its frozen replica: the publish waits. Gone for good, it counts none.
      await eventually(async () => /connected_slaves:1/.test(await master.cli('INFO', 'replication')), {
        what: 'the replica still listed',
      });
      await replica.kill();
      const placed = await waiting;
      assert.equal(placed.duplicate, false);
      const delivered = await events.waitFor((e) => e.ref === 'r1', LINE_MS, 'the line, broadcast');
      assert.equal(delivered.seq, placed.seq);
    } finally {
      await bus?.close();
      await replica.dispose();
      await master.dispose();
    }
  });

  it('is refused at once when its connection drops while it waits, not at the end of its wait', async () => {
    const { master, replica } = await replicatedPair();
    let bus: RedisBus | undefined;
    try {
      ({ bus } = await loneBus(master, 'dropped', { redisWaitTimeoutMs: LINE_MS }));
      await bus.publish(line('with the replica', 'r0'));
      process.kill(replica.pid!, 'SIGSTOP');
      const started = Date.now();
      const waiting = bus.publish(line('its connection drops', 'r1'));
      waiting.catch(() => undefined); // asserted below, once the connection was dropped
      await eventually(async () => /cmd=wait/.test(await master.cli('CLIENT', 'LIST')), { what: 'the publish waiting (WAIT)' });
      await master.cli('CLIENT', 'KILL', 'TYPE', 'normal');
      await assert.rejects(waiting, BusUnavailableError);
      // A WAIT that fails is not asked again and again until the deadline (that spun without yielding).
      assert.ok(Date.now() - started < LINE_MS / 2, `refused after ${Date.now() - started} ms, not at the end of its ${LINE_MS} ms wait`);
    } finally {
      process.kill(replica.pid!, 'SIGCONT');
      await bus?.close();
      await replica.dispose();
      await master.dispose();
    }
  });
});

describe('gateways on a Redis with a replica: what a client sees', { timeout: 120_000 }, () => {
  let master: RedisServer;
  let replica: RedisServer;
  let nodes: GatewayProcess[] = [];
  const clients: ChatClient[] = [];

  before(async () => {
    ({ master, replica } = await replicatedPair());
    const env = { REDIS_URL: master.url, REDIS_WAIT_TIMEOUT_MS: String(WAIT_MS), MESSAGE_RATE_PER_SEC: '1000', MESSAGE_BURST: '1000' };
    nodes = await Promise.all([
      GatewayProcess.start({ env: { ...env, NODE_ID: 'node-1' } }),
      GatewayProcess.start({ env: { ...env, NODE_ID: 'node-2' } }),
    ]);
  });
  after(async () => {
    if (replica?.pid !== undefined) process.kill(replica.pid, 'SIGCONT');
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(nodes.map((n) => n.kill()));
    await replica?.dispose();
    await master?.dispose();
  });

  it('gets BUS_UNAVAILABLE for a line the frozen replica lacks, and for its resend after SIGCONT an ack; everyone gets the line once', async () => {
    const ann = await ChatClient.connect(nodes[0]!.wsUrl, { hello: {} });
    const bob = await ChatClient.connect(nodes[1]!.wsUrl, { hello: {} });
    clients.push(ann, bob);
    ann.sendJson({ type: 'message', message: 'before', ref: 'r0' });
    await bob.waitForMessage('message', 'before', LINE_MS);

    process.kill(replica.pid!, 'SIGSTOP');
    let from = ann.frames.items.length;
    ann.sendJson({ type: 'message', message: 'frozen', ref: 'r1' });
    const refused = await ann.frames.waitFor((f) => 'ref' in f && f.ref === 'r1', LINE_MS, 'the answer to "frozen"', from);
    assert.deepEqual([refused.type, refused.type === 'error' && refused.code], ['error', 'BUS_UNAVAILABLE']);

    process.kill(replica.pid!, 'SIGCONT');
    // Resent with the same ref (as the SDK does) until acknowledged: the stored original, published now.
    let answer;
    for (let attempt = 0; attempt < 20; attempt++) {
      from = ann.frames.items.length;
      ann.sendJson({ type: 'message', message: 'frozen', ref: 'r1' });
      answer = await ann.frames.waitFor(
        (f) => 'ref' in f && f.ref === 'r1' && f.type !== 'message',
        LINE_MS,
        'the answer to the resend',
        from,
      );
      if (answer.type !== 'error') break;
      await delay(100);
    }
    assert.equal(answer?.type, 'ack', 'the resend is acknowledged: its original was stored');
    ann.sendJson({ type: 'message', message: 'after', ref: 'r2' });
    for (const c of [ann, bob]) {
      await c.waitForMessage('message', 'after', LINE_MS);
      const lines = c.events.filter((e) => e.type === 'message' && e.history !== true).map((e) => e.message);
      assert.deepEqual(lines, ['before', 'frozen', 'after'], `${c.id}: each line once, in order`);
    }
  });
});

/**
 * A failover to a replica that lacked the last writes: replication is cut
 * (REPLICAOF NO ONE on the replica) while lines go on being acknowledged
 * without waiting (REDIS_MIN_REPLICAS_ACK 0, as a replica lagging behind a
 * master would leave them), then the master dies and the replica's data takes
 * its place (saved, loaded by a redis-server on the master's port): the room's
 * history went back in time within its epoch.
 */
describe('a failover to a replica that lacked the last lines (a rewind)', { timeout: 180_000 }, () => {
  let master: RedisServer;
  let replica: RedisServer;
  let promoted: RedisServer | undefined;
  let nodes: GatewayProcess[] = [];
  const clients: ChatClient[] = [];

  before(async () => {
    ({ master, replica } = await replicatedPair());
    const env = {
      REDIS_URL: master.url,
      REDIS_MIN_REPLICAS_ACK: '0',
      RESUME_GRACE_MS: '60000',
      MESSAGE_RATE_PER_SEC: '1000',
      MESSAGE_BURST: '1000',
    };
    nodes = await Promise.all([
      GatewayProcess.start({ env: { ...env, NODE_ID: 'node-1' } }),
      GatewayProcess.start({ env: { ...env, NODE_ID: 'node-2' } }),
    ]);
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(nodes.map((n) => n.kill()));
    await promoted?.dispose();
    await replica?.dispose();
    await master?.dispose();
  });

  async function client(node: GatewayProcess): Promise<ChatClient> {
    const c = await ChatClient.connect(node.wsUrl, { hello: {} });
    clients.push(c);
    return c;
  }

  /** Send a line until acknowledged (its echo or an ack); returns the answer. */
  async function deliver(c: ChatClient, text: string, ref: string): Promise<{ type: string; seq?: number; epoch?: string }> {
    for (;;) {
      const from = c.frames.items.length;
      c.sendJson({ type: 'message', message: text, ref });
      const answer = await c.frames.waitFor(
        (f) => 'ref' in f && f.ref === ref && (f.type === 'error' || f.type === 'ack' || (f.type === 'message' && f.id === c.id)),
        LINE_MS,
        `the acknowledgement of "${text}"`,
        from,
      );
      if (answer.type !== 'error') return answer;
      await delay(100);
    }
  }

  it('starts a new epoch at once, keeps what survived, acknowledges no line the history lacks, and every client gets every line once', async () => {
    const ann = await client(nodes[0]!);
    const bob = await client(nodes[1]!);
    for (let i = 1; i <= 3; i++) await deliver(ann, `kept ${i}`, `k${i}`);
    await bob.waitForMessage('message', 'kept 3', LINE_MS);
    const before = bob.events.find((e) => e.message === 'kept 3')!;

    // Replication is cut: what follows is acknowledged on the master alone.
    await replica.cli('REPLICAOF', 'NO', 'ONE');
    for (let i = 1; i <= 2; i++) await deliver(ann, `lost ${i}`, `l${i}`);
    await bob.waitForMessage('message', 'lost 2', LINE_MS);

    // The master dies; its address now serves the replica's data.
    const dir = (await replica.cli('CONFIG', 'GET', 'dir')).split('\n')[1]!.trim();
    await replica.cli('SAVE');
    await master.kill();
    promoted = await RedisServer.start({ port: master.port, args: ['--dir', dir] });

    // A line after the failover lands on a seq the nodes already passed: a rewind.
    const after = await deliver(ann, 'after', 'a1');
    assert.equal(after.type, 'message', 'acknowledged by its echo');
    assert.notEqual(after.epoch, before.epoch, 'in a new epoch');
    const heard = await bob.waitForMessage('message', 'after', LINE_MS);
    assert.equal(heard.epoch, after.epoch);
    // Each node says so: the one that noticed it, and any that learnt it from the new epoch.
    for (const node of nodes) {
      await node.logs.waitFor((l) => /went back in time|kept what survived/.test(l.msg), LINE_MS, `${node.nodeId} logs the rewind`);
    }
    assert.ok(
      nodes.some((n) => n.logs.items.some((l) => /went back in time/.test(l.msg))),
      'one node noticed the rewind',
    );

    // A resend of a line the history lost is not acknowledged with `ack`: it is a new line.
    const resent = await deliver(ann, 'lost 1', 'l1');
    assert.equal(resent.type, 'message', 'published again, not acked');
    assert.equal(resent.epoch, after.epoch);

    // What survived is kept, in the new epoch: a newcomer's recent lines have it.
    const carl = await client(nodes[1]!);
    await carl.waitFor((f) => f.type === 'message' && f.history === true && f.message === 'after', 'the recent lines');
    const recent = carl.events.filter((e) => e.type === 'message' && e.history === true).map((e) => [e.message, e.epoch === after.epoch]);
    assert.deepEqual(
      recent.filter(([m]) => String(m).startsWith('kept') || m === 'after'),
      [
        ['kept 1', true],
        ['kept 2', true],
        ['kept 3', true],
        ['after', true],
      ],
    );

    // Every client got each line once; no line twice.
    await bob.waitForMessage('message', 'lost 1', LINE_MS);
    for (const c of [ann, bob]) {
      const live = c.events.filter((e) => e.type === 'message' && e.history !== true).map((e) => e.message);
      assert.deepEqual(live, ['kept 1', 'kept 2', 'kept 3', 'lost 1', 'lost 2', 'after', 'lost 1'], `${c.id}'s lines`);
    }
  });
});

/**
 * A 3-master Redis Cluster with a replica each (until testkit's RedisCluster
 * has replicas): a room's WAIT must go to its own slot's master, on the
 * connection that wrote, so that only its own shard's replica counts.
 */
describe('on a Redis Cluster with a replica per master', { timeout: 180_000 }, () => {
  const nodes: RedisServer[] = [];
  let bus: RedisBus | undefined;

  before(async () => {
    for (let i = 0; i < 6; i++) {
      nodes.push(
        await RedisServer.start({
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'],
        }),
      );
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await promisify(execFile)(process.env.REDIS_CLI_BIN ?? 'redis-cli', [
      '--cluster',
      'create',
      ...addresses,
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ]);
    await eventually(
      async () => {
        for (const node of nodes) {
          if (!/cluster_state:ok/.test(await node.cli('CLUSTER', 'INFO'))) throw new Error(`${node.port} not ok`);
          const info = await node.cli('INFO', 'replication');
          if (/role:master/.test(info) && !/slave0:.*state=online/.test(info)) throw new Error(`master ${node.port} has no replica online`);
          // Every node's slots table lists each master's replica (gossip takes a few seconds to tell them all).
          // Numbers in redis-cli's CLUSTER SLOTS: per range its first and last slot, its master's port and its replica's.
          const numbers = (await node.cli('CLUSTER', 'SLOTS')).split('\n').filter((l) => /^\d+$/.test(l.trim())).length;
          if (numbers < 3 * 4) throw new Error(`${node.port} does not list every replica yet`);
        }
        return true;
      },
      { what: 'the replicated cluster to settle', timeoutMs: 60_000, intervalMs: 200 },
    );
  });
  after(async () => {
    for (const node of nodes) if (node.pid !== undefined) process.kill(node.pid, 'SIGCONT');
    await bus?.close();
    await Promise.allSettled(nodes.map((n) => n.dispose()));
  });

  /** The replica of the master that serves `key`, from CLUSTER SLOTS. */
  async function replicaFor(key: string): Promise<RedisServer> {
    const probe = new Redis(nodes[0]!.url);
    try {
      const slot = keySlot(key);
      const ranges = (await probe.call('CLUSTER', 'SLOTS')) as Array<[number, number, ...Array<[string, number, string]>]>;
      const range = ranges.find(([from, to]) => slot >= from && slot <= to)!;
      const replicaPort = range[3]![1];
      return nodes.find((n) => n.port === replicaPort)!;
    } finally {
      probe.disconnect();
    }
  }

  it("refuses a room's line while its own shard's replica is frozen, and only that shard's; the resend is acknowledged once", async () => {
    const prefix = `cluster-acks-${process.pid}`;
    const keys = new RedisKeys(prefix);
    bus = new RedisBus({
      ...LIMITS,
      redisWaitTimeoutMs: WAIT_MS,
      target: { clusterNodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) },
      prefix,
      nodeId: 'node-1',
      logger,
    });
    const events = new EventLog<BroadcastEvent>();
    bus.start((e) => events.push(e));
    await untilReady({ ready: () => bus!.health().ready, onHealthChange: (l) => bus!.onHealthChange(l) }, 'bus');
    // Two rooms on two shards: their replicas differ.
    const frozenRoom = 'room-a';
    const frozen = await replicaFor(keys.room(frozenRoom).channel);
    let otherRoom = '';
    for (let i = 0; otherRoom === ''; i++) {
      if ((await replicaFor(keys.room(`room-${i}`).channel)) !== frozen) otherRoom = `room-${i}`;
    }
    for (const room of [frozenRoom, otherRoom]) await bus.subscribe(room);
    const say = (room: string, message: string, ref: string): EventDraft => ({ ...line(message, ref), room });
    await bus.publish(say(frozenRoom, 'before', 'a0'));
    await bus.publish(say(otherRoom, 'before', 'b0'));

    process.kill(frozen.pid!, 'SIGSTOP');
    await assert.rejects(bus.publish(say(frozenRoom, 'frozen', 'a1')), BusUnavailableError);
    const other = await bus.publish(say(otherRoom, 'elsewhere', 'b1'));
    assert.equal(other.duplicate, false, 'the other shard acknowledges its lines');
    process.kill(frozen.pid!, 'SIGCONT');
    const resent = await eventually(() => bus!.publish(say(frozenRoom, 'frozen', 'a1')), {
      what: 'the resend acknowledged',
      timeoutMs: LINE_MS,
    });
    assert.equal(resent.duplicate, true);
    await bus.publish(say(frozenRoom, 'after', 'a2'));
    await events.waitFor((e) => e.ref === 'a2', LINE_MS, 'the line after');
    assert.equal(events.items.filter((e) => e.ref === 'a1').length, 1, 'delivered once');

    // A graceful failover of the room's shard: its replica becomes its master. The next line's pipeline
    // meets MOVED (and WAIT refused by the demoted master): the bus learns the new master and sends it there.
    await frozen.cli('CLUSTER', 'FAILOVER');
    // A graceful failover can time out on a loaded machine (the replica must catch up within the node
    // timeout): asked again every few seconds until the replica is the master.
    let askedAt = Date.now();
    await eventually(
      async () => {
        if (/role:master/.test(await frozen.cli('INFO', 'replication'))) return true;
        if (Date.now() - askedAt > 5_000) {
          askedAt = Date.now();
          await frozen.cli('CLUSTER', 'FAILOVER').catch(() => undefined);
        }
        return false;
      },
      { what: 'the replica promoted', timeoutMs: LINE_MS },
    );
    let attempts = 0;
    const moved = await eventually(
      () => {
        attempts++;
        return bus!.publish(say(frozenRoom, 'moved', 'a3'));
      },
      { what: 'the line after the failover acknowledged', timeoutMs: LINE_MS },
    );
    assert.equal(moved.duplicate, false);
    assert.ok(attempts <= 3, `acknowledged at the ${attempts}th try: the new master is found at once, not at the next slot refresh`);
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ErrorCode, type BroadcastEvent, type RoomName } from '@switchboard/protocol';
import { FALLBACK_ENV } from '../../src/platform/capability.js';
import { ChatClient, EventLog, GatewayProcess, RedisServer, eventually, httpGet, scrape, type Scrape } from '@switchboard/testkit';

/** The gateways' key prefix (REDIS_PREFIX's default): a room's keys and channel carry the tag `{switchboard:<room>}`. */
const PREFIX = 'switchboard';
const tagOf = (room: RoomName) => `{${PREFIX}:${room}}`;
const channelOf = (room: RoomName) => `${tagOf(room)}:events`;
const TIMINGS = {
  RESUME_GRACE_MS: '10000',
  LEASE_TTL_MS: '5000',
  SWEEP_INTERVAL_MS: '200',
  MESSAGE_RATE_PER_SEC: '1000',
  MESSAGE_BURST: '1000',
  // The watchdog, quicker than its defaults so that the test is short; still generous for a loaded machine.
  SHARD_PROBE_INTERVAL_MS: '500',
  SHARD_PROBE_TIMEOUT_MS: '2500',
};
/** Every node keeps its data (AOF, synced on every write); the other shards serve while one is away. */
const REDIS_ARGS = [
  '--cluster-enabled',
  'yes',
  '--cluster-config-file',
  'nodes.conf',
  '--cluster-node-timeout',
  '2000',
  '--appendonly',
  'yes',
  '--appendfsync',
  'always',
  '--cluster-require-full-coverage',
  'no',
];
const LINES_BEFORE = 10;
const LINES_AFTER = 10;
/** Longest wait for one line's acknowledgement (a failover and the resubscription included), in ms. */
const LINE_MS = 30_000;
const RETRY_PAUSE_MS = 50;
const RETRYABLE = new Set<string>([ErrorCode.BUS_UNAVAILABLE, ErrorCode.RATE_LIMITED]);
/** How long the paused master stays paused (CLIENT PAUSE), in ms: well past SHARD_PROBE_TIMEOUT_MS. */
const PAUSE_MS = 10_000;

/** One shard: its master now, and its replica. */
interface Shard {
  master: RedisServer;
  replica: RedisServer;
}

/**
 * A 3-master, 3-replica Redis Cluster of the test's own (a small stand-in until
 * testkit's RedisCluster has replicas): `redis-cli --cluster create` with one
 * replica each, ready once every node says `cluster_state:ok` and every replica
 * is in sync with its master.
 */
class ReplicatedCluster {
  private constructor(
    readonly nodes: readonly RedisServer[],
    readonly shards: Shard[],
  ) {}

  static async start(): Promise<ReplicatedCluster> {
    const nodes: RedisServer[] = [];
    try {
      for (let i = 0; i < 6; i++) nodes.push(await RedisServer.start({ args: REDIS_ARGS }));
      const binary = process.env.REDIS_CLI_BIN ?? 'redis-cli';
      const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
      await promisify(execFile)(binary, ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes']);
      const cluster = new ReplicatedCluster(nodes, []);
      await cluster.settle();
      return cluster;
    } catch (err) {
      await Promise.allSettled(nodes.map((n) => n.dispose()));
      throw err;
    }
  }

  get seeds(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  }

  /** Wait until every node is ok and every master has a replica in sync; learn the shards. */
  async settle(): Promise<void> {
    await eventually(
      async () => {
        const shards: Shard[] = [];
        for (const node of this.nodes) {
          const info = await node.cli('INFO', 'replication');
          if (!/cluster_state:ok/.test(await node.cli('CLUSTER', 'INFO'))) throw new Error(`${node.port} not ok`);
          if (!/role:master/.test(info)) continue;
          const replica = /slave0:ip=[^,]+,port=(\d+),state=online/.exec(info);
          if (!replica) throw new Error(`master ${node.port} has no replica online`);
          const peer = this.nodes.find((n) => n.port === Number(replica[1]));
          if (!peer || !/master_link_status:up/.test(await peer.cli('INFO', 'replication')))
            throw new Error(`replica of ${node.port} not in sync`);
          shards.push({ master: node, replica: peer });
        }
        if (shards.length !== 3) throw new Error(`${shards.length} masters`);
        this.shards.splice(0, this.shards.length, ...shards);
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'the replicated cluster to settle' },
    );
  }

  /** The shard whose master serves `key`'s slot. */
  async shardOf(key: string): Promise<Shard> {
    const slot = Number((await this.nodes[0]!.cli('CLUSTER', 'KEYSLOT', key)).trim());
    for (const shard of this.shards) {
      const mine = (await shard.master.cli('CLUSTER', 'NODES')).split('\n').find((l) => l.includes('myself'))!;
      for (const part of mine.split(' ').slice(8)) {
        const [from, to] = part.split('-').map(Number);
        if (slot >= from! && slot <= (to ?? from!)) return shard;
      }
    }
    throw new Error(`no master serves slot ${slot}`);
  }

  async dispose(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.dispose()));
  }
}

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

const linesIn = (client: ChatClient, room: RoomName): BroadcastEvent[] =>
  client.events.filter((e) => e.room === room && e.type === 'message' && e.history !== true);

/** `switchboard_shard_up{shard}`, if the node has that sample at all. */
const gauge = (metrics: Scrape, shard: string): number | undefined =>
  metrics.samples.find((s) => s.name === 'switchboard_shard_up' && s.labels.shard === shard)?.value;

interface Member {
  readonly label: string;
  readonly room: RoomName;
  readonly client: ChatClient;
  readonly sent: string[];
}

let members = 0;
/** A v2 client on `node`, moved to `room`. */
async function memberOf(node: GatewayProcess, room: RoomName, clients: ChatClient[]): Promise<Member> {
  const client = await ChatClient.connect(node.wsUrl, { hello: {} });
  clients.push(client);
  const from = client.frames.items.length;
  client.sendJson({ type: 'join', room, ref: `join-${room}` });
  await client.frames.waitFor((f) => f.type === 'joined' && f.room === room, LINE_MS, `#${room} joined`, from);
  return { label: `${room}@${node.nodeId}#${++members}`, room, client, sent: [] };
}

/** Every member sends lines one after another until stopped; `untilSent` waits for counts. */
function chat(members: readonly Member[]) {
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
  return {
    untilSent: (more: number) => {
      const counts = members.map((m) => m.sent.length + more);
      return Promise.all(
        members.map((m, i) =>
          progress.waitFor((p) => p.label === m.label && p.sent >= counts[i]!, LINE_MS, `${m.label}: ${counts[i]} lines`),
        ),
      );
    },
    stop: async () => {
      sending = false;
      await Promise.all(senders);
    },
  };
}

/** Every member of `room` got every line sent there, once, each sender's in order, in one order for all. */
async function assertAllDelivered(members: readonly Member[]): Promise<void> {
  const sent = members.flatMap((m) => m.sent);
  for (const { label, client, room } of members) {
    for (const sender of members) await client.waitForMessage('message', sender.sent.at(-1)!, LINE_MS);
    const texts = linesIn(client, room).map((e) => e.message);
    assert.deepEqual([...texts].sort(), [...sent].sort(), `${label}: every line of #${room}, once`);
    for (const sender of members) {
      assert.deepEqual(
        texts.filter((text) => text.startsWith(`${sender.label} `)),
        sender.sent,
        `${label}: the lines of ${sender.label} in the order sent`,
      );
    }
  }
  const orders = members.map((m) => linesIn(m.client, m.room).map((e) => `${e.seq} ${e.message}`));
  for (const order of orders) assert.deepEqual(order, orders[0], 'the same order everywhere');
}

/**
 * Silence shard `name` with `pause` (for PAUSE_MS): every node says so on
 * /readyz (503 naming it) and in `switchboard_shard_up{shard}` (0), then, once
 * it answers again (`whileUnheard` runs in between), is ready again with the gauge at 1, has counted it in
 * `switchboard_shard_unheard_total{shard}` and logged what it found and did.
 */
async function untilUnheardThenHeard(
  nodes: readonly GatewayProcess[],
  name: string,
  pause: () => Promise<unknown>,
  whileUnheard: () => Promise<unknown> = () => Promise.resolve(),
): Promise<void> {
  const unheardTotal = async (node: GatewayProcess) =>
    (await scrape(`${node.metricsUrl}/metrics`)).value('switchboard_shard_unheard_total', { shard: name });
  const before = await Promise.all(nodes.map(unheardTotal));
  await pause();
  for (const node of nodes) {
    await eventually(
      async () => {
        const answer = await httpGet(`${node.httpUrl}/readyz`);
        if (answer.status !== 503 || !answer.body.includes(name)) throw new Error(`${answer.status} ${answer.body}`);
        assert.deepEqual((JSON.parse(answer.body) as { unheardShards?: string[] }).unheardShards, [name]);
        // What a load balancer asks: the node still takes clients, for the rooms of the other shards.
        const forClients = await httpGet(`${node.httpUrl}/readyz?for=clients`);
        if (forClients.status !== 200 || !forClients.body.includes(name))
          throw new Error(`for clients: ${forClients.status} ${forClients.body}`);
        return gauge(await scrape(`${node.metricsUrl}/metrics`), name) === 0;
      },
      { timeoutMs: PAUSE_MS, intervalMs: 100, what: `${node.nodeId}: /readyz 503 naming ${name}, switchboard_shard_up 0` },
    );
  }
  await whileUnheard();
  for (const [i, node] of nodes.entries()) {
    await eventually(
      async () => {
        const answer = await httpGet(`${node.httpUrl}/readyz`);
        if (answer.status !== 200) throw new Error(`${answer.status} ${answer.body}`);
        return gauge(await scrape(`${node.metricsUrl}/metrics`), name) === 1;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: `${node.nodeId}: ready again, switchboard_shard_up 1` },
    );
    assert.ok((await unheardTotal(node)) > before[i]!, `${node.nodeId} counted the shard unheard`);
    assert.ok(
      node.logs.items.some((l) => l.msg === 'shard not heard' && l.shard === name),
      `${node.nodeId} logs what it found and did`,
    );
  }
}

/**
 * A shard of a 3-master, 3-replica Redis Cluster changes under its rooms while
 * lines flow: a graceful failover (`CLUSTER FAILOVER` on its replica) moves its
 * slots to the replica, whose subscribers must follow (the demoted master drops
 * the sharded subscriptions without closing anything); and a master stops
 * answering (CLIENT PAUSE) while its connections stay up: the watchdog must say
 * so on /readyz and in its metrics, and all must flow again after it. A third
 * gateway runs every platform fallback (FALLBACK_ENV=all).
 */
describe('the shards of a replicated Redis Cluster changing under their rooms', { timeout: 300_000 }, () => {
  let cluster: ReplicatedCluster;
  let nodes: GatewayProcess[] = [];
  const clients: ChatClient[] = [];
  let fresh = 0;

  before(async () => {
    cluster = await ReplicatedCluster.start();
    const env = { REDIS_CLUSTER: cluster.seeds, METRICS_PORT: '0', ...TIMINGS };
    nodes = await Promise.all([
      GatewayProcess.start({ env: { ...env, NODE_ID: 'node-1' } }),
      GatewayProcess.start({ env: { ...env, NODE_ID: 'node-2' } }),
      // Every library internal ruled out: no refresh of the subscriber's slots; the watchdog's mends must do.
      GatewayProcess.start({ env: { ...env, NODE_ID: 'fallbacks', [FALLBACK_ENV]: 'all' } }),
    ]);
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(nodes.map((n) => n.kill()));
    await cluster?.dispose();
  });

  /** A shard that serves neither the sessions ({switchboard}) nor the lobby. */
  async function roomsShard(): Promise<Shard> {
    const elsewhere = new Set([(await cluster.shardOf(`{${PREFIX}}`)).master.port, (await cluster.shardOf(tagOf('lobby'))).master.port]);
    return cluster.shards.find((s) => !elsewhere.has(s.master.port))!;
  }

  async function roomOn(shard: Shard, label: string): Promise<RoomName> {
    for (;;) {
      const room = `${label}-${++fresh}`;
      if ((await cluster.shardOf(tagOf(room))).master.port === shard.master.port) return room;
    }
  }

  it('follows a graceful CLUSTER FAILOVER: the room keeps flowing, every line once, in order', async () => {
    const shard = await roomsShard();
    const room = await roomOn(shard, 'failover');
    const members = await Promise.all(nodes.map((node) => memberOf(node, room, clients)));
    const talk = chat(members);
    await talk.untilSent(LINES_BEFORE);

    const { master, replica } = shard;
    await replica.cli('CLUSTER', 'FAILOVER');
    await eventually(async () => /role:master/.test(await replica.cli('INFO', 'replication')), {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: `replica ${replica.port} promoted`,
    });
    await talk.untilSent(LINES_AFTER);
    await talk.stop();
    await assertAllDelivered(members);

    // The gateways that follow the topology subscribe to the room on its new master; the one on fallbacks, once its
    // watchdog has mended it, there or on the demoted master (now its replica, which the new master's SPUBLISHes reach).
    const subscribers = async (node: RedisServer) => Number((await node.cli('PUBSUB', 'SHARDNUMSUB', channelOf(room))).split('\n')[1]);
    await eventually(
      async () => {
        const [promoted, demoted] = [await subscribers(replica), await subscribers(master)];
        return promoted >= nodes.length - 1 && promoted + demoted === nodes.length;
      },
      { timeoutMs: LINE_MS, intervalMs: 200, what: `every gateway subscribed to #${room} again, on its new master or its replica` },
    );
    await cluster.settle();
  });

  it("says a shard that is not heard on /readyz and in its metrics while the other shards' rooms carry on, and carries on once it is heard again", async () => {
    await cluster.settle();
    // After the failover of the test before, each node is ready again once its watchdog has heard every shard.
    await Promise.all(
      nodes.map((node) =>
        eventually(async () => (await httpGet(`${node.httpUrl}/readyz`)).status === 200, {
          what: `${node.nodeId} ready`,
          timeoutMs: 30_000,
          intervalMs: 100,
        }),
      ),
    );
    const shard = await roomsShard();
    const room = await roomOn(shard, 'paused');
    const members = await Promise.all(nodes.map((node) => memberOf(node, room, clients)));
    // A room on another shard (the sessions'), whose members chat throughout.
    const elsewhere = cluster.shards.find((s) => s.master.port !== shard.master.port)!;
    const otherRoom = await roomOn(elsewhere, 'elsewhere');
    const neighbours = await Promise.all(nodes.map((node) => memberOf(node, otherRoom, clients)));
    const talk = chat(members);
    const otherTalk = chat(neighbours);
    await Promise.all([talk.untilSent(3), otherTalk.untilSent(3)]);
    const name = `127.0.0.1:${shard.master.port}`;

    // The master stops answering its clients; every connection to it stays open, and nothing says why.
    await untilUnheardThenHeard(
      nodes,
      name,
      () => shard.master.cli('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL'),
      async () => {
        // The other shard's room carries on meanwhile, and a newcomer is taken into it.
        await otherTalk.untilSent(3);
        await memberOf(nodes[1]!, otherRoom, clients);
        const answer = await httpGet(`${nodes[0]!.httpUrl}/readyz`);
        assert.ok(answer.status === 503 && answer.body.includes(name), `lines flowed elsewhere while ${name} was still not heard`);
      },
    );
    await Promise.all([talk.untilSent(LINES_AFTER), otherTalk.untilSent(3)]);
    await Promise.all([talk.stop(), otherTalk.stop()]);
    await assertAllDelivered(members);
    await assertAllDelivered(neighbours);
  });
});

/**
 * One Redis (REDIS_URL) is one shard to the watchdog: pub/sub dying silently is
 * the same failure there.
 */
describe('one Redis that stops answering', { timeout: 120_000 }, () => {
  let redis: RedisServer;
  let node: GatewayProcess;
  const clients: ChatClient[] = [];

  before(async () => {
    redis = await RedisServer.start();
    node = await GatewayProcess.start({ env: { REDIS_URL: redis.url, METRICS_PORT: '0', NODE_ID: 'solo', ...TIMINGS } });
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await node?.kill();
    await redis?.dispose();
  });

  it('is said on /readyz and in the metrics while it is not heard, and lines flow again after', async () => {
    const members = await Promise.all([memberOf(node, 'solo', clients), memberOf(node, 'solo', clients)]);
    const talk = chat(members);
    await talk.untilSent(3);
    await untilUnheardThenHeard([node], `127.0.0.1:${redis.port}`, () => redis.cli('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL'));
    await talk.untilSent(LINES_AFTER);
    await talk.stop();
    await assertAllDelivered(members);
  });
});

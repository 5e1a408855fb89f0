import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { ErrorCode, type BroadcastEvent, type ClusterSnapshot, type RoomName } from '@switchboard/protocol';
import { ChatClient, EventLog, eventually, GATEWAY_ENTRY, GatewayProcess } from '@switchboard/testkit';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { createRedis } from '../../src/redis/client.js';
import { SENTINEL_MASTER_NAME, SentinelGroup } from './sentinel-group.js';

const TIMINGS = {
  RESUME_GRACE_MS: '10000',
  LEASE_TTL_MS: '5000',
  SWEEP_INTERVAL_MS: '200',
  MESSAGE_RATE_PER_SEC: '1000',
  MESSAGE_BURST: '1000',
};
/** Lines every sender has had acknowledged before the failover, and again after it. */
const LINES_BEFORE = 10;
const LINES_AFTER = 10;
/** Longest wait for one line's acknowledgement (a failover and the resubscription included), or for a member to hear one, ms. */
const LINE_MS = 60_000;
/** How long a sender waits before sending a refused line again, ms: as the SDK backs off. */
const RETRY_PAUSE_MS = 50;
const RETRYABLE = new Set<string>([ErrorCode.BUS_UNAVAILABLE, ErrorCode.RATE_LIMITED]);

interface Member {
  readonly label: string;
  readonly room: RoomName;
  readonly client: ChatClient;
  /** Its lines acknowledged so far, in the order sent. */
  readonly sent: string[];
  /** When each was acknowledged, ms since the epoch. */
  readonly ackedAt: number[];
}

/** Send `text` with `ref` until acknowledged (its echo, or an `ack`); a retryable refusal is sent again with the same ref. */
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

/** The lines of `room` a client received live (not the recent lines sent after a join). */
const linesIn = (client: ChatClient, room: RoomName): BroadcastEvent[] =>
  client.events.filter((e) => e.room === room && e.type === 'message' && e.history !== true);

/**
 * Gateways on one Redis with a replica, found through three Redis Sentinels
 * (REDIS_SENTINELS): the master goes away while two rooms are busy, handed over
 * (`SENTINEL FAILOVER`) or SIGKILLed, the Sentinels promote the replica, and
 * every connection of every gateway follows them to it.
 */
describe('gateways on one Redis through Redis Sentinel, across a failover', { timeout: 600_000 }, () => {
  let group: SentinelGroup;
  let nodes: GatewayProcess[] = [];
  const clients: ChatClient[] = [];
  let fresh = 0;

  before(async () => {
    group = await SentinelGroup.start();
    const env = { REDIS_URL: '', REDIS_SENTINELS: group.sentinels, METRICS_PORT: '0', ...TIMINGS };
    nodes = await Promise.all([1, 2].map((n) => GatewayProcess.start({ env: { ...env, NODE_ID: `sentinel-${n}` } })));
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(nodes.map((n) => n.kill()));
    await group?.dispose();
  });

  async function memberOf(node: GatewayProcess, room: RoomName): Promise<Member> {
    const client = await ChatClient.connect(node.wsUrl, { hello: {} });
    clients.push(client);
    const from = client.frames.items.length;
    client.sendJson({ type: 'join', room, ref: `join-${room}` });
    await client.frames.waitFor((f) => f.type === 'joined' && f.room === room, LINE_MS, `#${room} joined`, from);
    return { label: `${room}@${node.nodeId}`, room, client, sent: [], ackedAt: [] };
  }

  /**
   * Two rooms, a member of each on each gateway, every member sending lines one
   * after another; `fault` while they do. Then every line acknowledged reached
   * every member of its room, and each sender's lines in the order sent.
   */
  async function chatThrough(t: TestContext, fault: () => Promise<void>): Promise<void> {
    const rooms = [`ha-${++fresh}`, `ha-${++fresh}`];
    const members = await Promise.all(rooms.flatMap((room) => nodes.map((node) => memberOf(node, room))));
    const progress = new EventLog<{ label: string; sent: number }>();
    let sending = true;
    const senders = members.map(async (member) => {
      for (let i = 1; sending; i++) {
        const text = `${member.label} line ${i}`;
        await deliver(member.client, text, `line-${i}`);
        member.sent.push(text);
        member.ackedAt.push(Date.now());
        progress.push({ label: member.label, sent: member.sent.length });
      }
    });
    // The first sender that fails (a line never acknowledged) fails the wait at once.
    const senderFailed = Promise.all(senders);
    const untilSent = (counts: readonly number[]) =>
      Promise.race([
        senderFailed,
        Promise.all(
          members.map((m, i) =>
            progress.waitFor((p) => p.label === m.label && p.sent >= counts[i]!, LINE_MS, `${m.label}: ${counts[i]} lines`),
          ),
        ),
      ]);

    const start = Date.now();
    try {
      await untilSent(members.map(() => LINES_BEFORE));
      await fault();
      await untilSent(members.map((m) => m.sent.length + LINES_AFTER));
    } catch (err) {
      // What the gateways said meanwhile (warnings and worse), to tell where a line stuck.
      for (const node of nodes) {
        for (const line of node.logs.items.filter((l) => l.level >= 40 && Number(l.time) >= start))
          t.diagnostic(`${node.nodeId}: ${JSON.stringify(line)}`);
      }
      throw err;
    } finally {
      sending = false;
    }
    await senderFailed;

    let duplicates = 0;
    for (const room of rooms) {
      const inRoom = members.filter((m) => m.room === room);
      for (const { label, client } of inRoom) {
        for (const sender of inRoom) await client.waitForMessage('message', sender.sent.at(-1)!, LINE_MS);
        const texts = linesIn(client, room).map((e) => e.message);
        const heard = new Set(texts);
        duplicates += texts.length - heard.size;
        for (const sender of inRoom) {
          const missing = sender.sent.filter((text) => !heard.has(text));
          assert.deepEqual(missing, [], `${label}: every acknowledged line of ${sender.label}`);
          const order = texts.filter((text) => text.startsWith(`${sender.label} `));
          assert.deepEqual([...new Set(order)], sender.sent, `${label}: the lines of ${sender.label} in the order sent`);
        }
      }
    }
    const sent = members.reduce((n, m) => n + m.sent.length, 0);
    // The longest a sender waited for an acknowledgement: the failover's stall, as a client sees it (printed, not asserted).
    const stallMs = Math.max(...members.map((m) => Math.max(...m.ackedAt.slice(1).map((at, i) => at - m.ackedAt[i]!))));
    t.diagnostic(
      `${sent} lines acknowledged, each heard by every member of its room; ${duplicates} heard twice; longest stall ${stallMs} ms`,
    );
  }

  it('refuses to start with REDIS_SENTINELS and REDIS_CLUSTER both set: exit 2, naming them', async () => {
    const { status, stderr } = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [GATEWAY_ENTRY],
        {
          env: { ...process.env, PORT: '0', REDIS_URL: '', REDIS_SENTINELS: group.sentinels, REDIS_CLUSTER: '127.0.0.1:7000' },
          timeout: 30_000,
        },
        (err, _out, err2) => resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, stderr: err2 }),
      );
    });
    assert.equal(status, 2, stderr);
    assert.match(stderr, /set REDIS_CLUSTER or REDIS_SENTINELS, not both/);
  });

  it('does not become ready while the Sentinels know no master by REDIS_SENTINEL_NAME', async () => {
    const env = { REDIS_URL: '', REDIS_SENTINELS: group.sentinels, REDIS_SENTINEL_NAME: 'no-such-master', NODE_ID: 'unnamed' };
    await assert.rejects(GatewayProcess.start({ env, readyTimeoutMs: 5_000 }), /waiting for the gateway to be ready/);
  });

  it('says in /cluster.json that each gateway is on the redis-sentinel bus', async () => {
    const snapshot = await eventually(
      async () => {
        const read = (await (await fetch(`${nodes[0]!.metricsUrl}/cluster.json`)).json()) as ClusterSnapshot;
        return read.nodes.length === nodes.length && read;
      },
      { what: 'both gateways in /cluster.json', timeoutMs: 30_000, intervalMs: 200 },
    );
    for (const node of snapshot.nodes) assert.equal(node.bus, 'redis-sentinel');
  });

  it('carries on after a graceful SENTINEL FAILOVER, every acknowledged line heard by every member', async (t) => {
    const from = nodes.map((node) => node.logs.items.length);
    await chatThrough(t, async () => {
      const { demoted, promoted } = await group.failover();
      t.diagnostic(`master 127.0.0.1:${demoted.port} handed over to 127.0.0.1:${promoted.port}`);
    });
    // The old master stays up and writable until the Sentinels demote it, seconds later: each gateway left it when they announced the switch.
    for (const [i, node] of nodes.entries()) {
      const since = node.logs.items.slice(from[i]);
      assert.ok(
        since.some((l) => l.msg === 'redis master switched: connections on the old one reconnect'),
        `${node.nodeId} followed the Sentinels' +switch-master`,
      );
      const rewinds = since.filter((l) => l.msg === 'history went back in time: new epoch');
      t.diagnostic(
        `${node.nodeId}: ${rewinds.map((l) => `#${String(l.room)} back from ${String(l.last)} to ${String(l.head)}`).join(', ') || 'no rewind'}`,
      );
    }
  });

  it('carries on after the master is SIGKILLed and the Sentinels promote its replica', async (t) => {
    // A replica in sync that the Sentinels know (the old master, after the graceful failover; or the first replica).
    await group.settled();
    await chatThrough(t, async () => {
      const { killed, promoted } = await group.killMaster();
      t.diagnostic(`master 127.0.0.1:${killed.port} killed, 127.0.0.1:${promoted.port} promoted`);
    });
    // Every gateway is ready again on the promoted master.
    for (const node of nodes) {
      await eventually(async () => (await fetch(`${node.httpUrl}/readyz`)).ok, { what: `${node.nodeId} ready`, timeoutMs: 30_000 });
    }
  });

  it("leaves a master demoted behind the Sentinels' back at its first READONLY, and writes on the master they name next", async () => {
    // A replica again: the master killed above, started again (the Sentinels make it the new master's replica).
    await group.restart(await group.replica());
    const warnings: Array<{ msg?: string; reason?: string }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line) as { msg?: string }) });
    const target = { sentinels: group.sentinelPorts.map((port) => ({ host: '127.0.0.1', port })), name: SENTINEL_MASTER_NAME };
    const redis = createRedis(target, 'readonly-probe', logger);
    try {
      await redis.connect();
      await redis.set('readonly-probe', 'before');
      const [demoted, promoted] = [await group.master(), await group.replica()];
      // Swapped by hand: the connection stays on the old master, now a replica; the Sentinels find out seconds later.
      await promoted.cli('REPLICAOF', 'NO', 'ONE');
      await demoted.cli('REPLICAOF', '127.0.0.1', String(promoted.port));
      await assert.rejects(redis.set('readonly-probe', 'refused'), /READONLY/);
      assert.ok(
        warnings.some((w) => w.reason === 'READONLY: a demoted master'),
        'the connection says why it reconnects',
      );
      await eventually(async () => (await redis.set('readonly-probe', 'after').catch(() => undefined)) === 'OK', {
        what: 'a write to succeed on the master the Sentinels name next',
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      assert.equal((redis as Redis).stream.remotePort, promoted.port, 'the connection is on the promoted server');
    } finally {
      redis.disconnect();
    }
  });
});

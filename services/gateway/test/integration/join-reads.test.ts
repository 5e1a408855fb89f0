import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { BroadcastEvent } from '@switchboard/protocol';
import { ChatClient, GatewayProcess, RedisServer, TcpProxy, redisConnectionNamed } from '@switchboard/testkit';
import { BUS_SCRIPTS } from '../../src/bus/redis-bus-scripts.js';
import { SESSION_SCRIPTS } from '../../src/sessions/redis-session-scripts.js';

/** Members joining or resuming at once on one node. */
const MANY = 30;
/** Neither a lease nor a shard probe runs out while a test holds node B's reads (a dead node's sessions stay resumable). */
const TIMINGS = { LEASE_TTL_MS: '60000', SHARD_PROBE_TIMEOUT_MS: '30000', MESSAGE_BURST: '1000' };

/**
 * How a script's text reads in MONITOR's output as ioredis hands it over: Redis
 * escapes each byte (sdscatrepr), ioredis unescapes only the quotes.
 */
function monitored(lua: string): string {
  const escapes: Readonly<Record<number, string>> = { 0x5c: '\\\\', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x07: '\\a', 0x08: '\\b' };
  let out = '';
  for (const byte of Buffer.from(lua)) {
    out += escapes[byte] ?? (byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`);
  }
  return out;
}

/** How often Redis ran each script (by name), as MONITOR saw it. */
class ScriptCounts {
  /** Script names by hash (EVALSHA) and by text (EVAL: ioredis sends a script in full the first time on each connection). */
  private readonly names = new Map<string, string>();
  private readonly counts = new Map<string, number>();

  private constructor(
    private readonly client: Redis,
    private readonly monitor: Redis,
  ) {}

  /** Watch `redis` with MONITOR. */
  static async watch(redis: RedisServer): Promise<ScriptCounts> {
    const client = new Redis(redis.port, '127.0.0.1');
    const watcher = new ScriptCounts(client, await client.monitor());
    for (const [name, { lua }] of Object.entries({ ...BUS_SCRIPTS, ...SESSION_SCRIPTS })) {
      watcher.names.set(createHash('sha1').update(lua).digest('hex'), name);
      watcher.names.set(monitored(lua), name);
    }
    watcher.monitor.on('monitor', (_time: string, args: string[]) => {
      const command = args[0]?.toLowerCase();
      if (command !== 'evalsha' && command !== 'eval') return;
      const name = watcher.names.get(args[1] ?? '') ?? 'unknown';
      watcher.counts.set(name, (watcher.counts.get(name) ?? 0) + 1);
    });
    return watcher;
  }

  count(name: keyof typeof BUS_SCRIPTS | keyof typeof SESSION_SCRIPTS): number {
    return this.counts.get(name) ?? 0;
  }

  /** Until Redis has run `name` `times` times since reset(). */
  async until(name: keyof typeof BUS_SCRIPTS | keyof typeof SESSION_SCRIPTS, times: number): Promise<void> {
    for (let turn = 0; this.count(name) < times; turn++) {
      if (turn > 3_000) throw new Error(`redis ran ${name} ${this.count(name)} times, not ${times}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  reset(): void {
    this.counts.clear();
  }

  stop(): void {
    this.monitor.disconnect();
    this.client.disconnect();
  }
}

const messages = (events: readonly BroadcastEvent[]) => events.filter((e) => e.type === 'message');

describe("simultaneous joins and resumes of one room on one node share one read of the room's history", () => {
  let redis: RedisServer;
  let proxy: TcpProxy;
  let scripts: ScriptCounts;
  let a: GatewayProcess;
  let b: GatewayProcess;
  /** Node B's command connection to Redis (its bus's), whose reads a test holds. */
  const readsOfB = redisConnectionNamed('node-b:pub');

  before(async () => {
    redis = await RedisServer.start();
    proxy = await TcpProxy.start(redis.port);
    [a, b] = await Promise.all([
      GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: 'node-a', ...TIMINGS } }),
      GatewayProcess.start({ env: { REDIS_URL: `redis://${proxy.address}`, NODE_ID: 'node-b', ...TIMINGS } }),
    ]);
    scripts = await ScriptCounts.watch(redis);
  });

  after(async () => {
    proxy?.thaw();
    scripts?.stop();
    await Promise.all([a, b].map((node) => node?.kill()));
    await proxy?.close();
    await redis?.dispose();
  });

  it('welcomes many /join of a room with one read of its recent lines, each with them all and nothing said meanwhile missed or doubled', async () => {
    const speaker = await ChatClient.connect(a.wsUrl);
    const watcher = await ChatClient.connect(b.wsUrl);
    for (const client of [speaker, watcher]) {
      client.send('/join storm');
      await client.waitFor((f) => f.type === 'joined', 'joined #storm');
    }
    for (const line of ['one', 'two', 'three']) speaker.send(line);
    await watcher.waitForMessage('message', 'three');
    const joiners = await Promise.all(Array.from({ length: MANY }, () => ChatClient.connect(b.wsUrl)));
    // Each one's line is said after its connect notice: admitted in full, it takes its /join at once.
    await Promise.all(joiners.map((joiner, i) => joiner.barrier(`joiner ${i}`)));

    scripts.reset();
    proxy.freeze(readsOfB);
    for (const joiner of joiners) joiner.send('/join storm');
    // Every move is in the registry; once the watcher's /who (asked after them, on the same connection) is
    // answered, node B has taken every answer, and every joiner waits for its room's lines.
    await scripts.until('sbSessionJoin', MANY);
    watcher.send('/who');
    await watcher.waitFor((f) => f.type === 'members', 'the members of #storm');
    // Said while their read is held: each gets it once, live or in its history.
    speaker.send('four');
    await watcher.waitForMessage('message', 'four');
    proxy.thaw();
    speaker.send('five');
    for (const joiner of joiners) await joiner.waitForMessage('message', 'five');

    assert.equal(scripts.count('sbRecent'), 1, `${MANY} joins read the room's recent lines once`);
    for (const joiner of joiners) {
      const joined = joiner.frames.items.findIndex((f) => f.type === 'joined');
      const inRoom = messages(joiner.frames.items.slice(joined).filter((f): f is BroadcastEvent => 'seq' in f));
      assert.deepEqual(
        inRoom.map((e) => e.message),
        ['one', 'two', 'three', 'four', 'five'],
      );
      assert.ok(inRoom.slice(0, 3).every((e) => e.history === true));
      assert.notEqual(inRoom[4]!.history, true);
    }
    await Promise.all([speaker, watcher, ...joiners].map((client) => client.close()));
  });

  it("resumes many sessions of a killed node's room with one read of what they missed, each replayed in full", async () => {
    const speaker = await ChatClient.connect(b.wsUrl);
    const resumers = await Promise.all(Array.from({ length: MANY }, () => ChatClient.connect(a.wsUrl, { hello: {} })));
    speaker.send('before');
    const befores = await Promise.all(resumers.map((client) => client.waitForMessage('message', 'before')));
    // Each resumes from there (what it got after it, presence notices, comes again: it says it has no more).
    const last = befores[0]!;
    const hellos = resumers.map((client) => ({ session: client.welcome.session!, since: last.seq, epoch: last.epoch }));
    await a.kill();
    for (const line of ['missed 1', 'missed 2', 'missed 3']) speaker.send(line);
    await speaker.waitForMessage('message', 'missed 3');

    scripts.reset();
    proxy.freeze(readsOfB);
    const resuming = hellos.map((hello) => ChatClient.connect(b.wsUrl, { hello }));
    await scripts.until('sbSessionResume', MANY);
    speaker.send('/who');
    await speaker.waitFor((f) => f.type === 'members', 'the members of #lobby');
    proxy.thaw();
    const back = await Promise.all(resuming);
    speaker.send('after');
    for (const client of back) await client.waitForMessage('message', 'after');

    assert.equal(scripts.count('sbHistory'), 1, `${MANY} resumes read what they missed once`);
    for (const client of back) {
      assert.equal(client.welcome.resumed, true);
      const events = client.events;
      events.forEach((e, i) => assert.equal(e.seq, last.seq + 1 + i, `event ${i} ("${e.message}") follows the one before`));
      assert.deepEqual(
        messages(events).map((e) => e.message),
        ['missed 1', 'missed 2', 'missed 3', 'after'],
      );
    }
    await Promise.all([speaker, ...back].map((client) => client.close()));
  });
});

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { ErrorCode, type ErrorFrame } from '@switchboard/protocol';
import { ChatClient, GatewayProcess, RedisServer, eventually } from '@switchboard/testkit';

/**
 * Abuse, rooms: what join churn (a client `/join`ing a new room again and again,
 * at the per-connection frame rate it is allowed) costs Redis. Every room a
 * join makes must expire once nobody uses it, so Redis memory stays bounded and
 * a Redis that was filled empties by itself. Real redis-server, real gateways;
 * the rooms' lifetimes are short so that the test is.
 */

const WAIT_MS = 30_000;
/** Short lifetimes: a dropped session's grace, and how long a room nobody uses is kept, ms. */
const LIFETIMES = {
  RESUME_GRACE_MS: '1000',
  ROOM_TTL_MS: '3000',
  ROOM_HISTORY_TTL_MS: '3000',
  // The join rate (abuse-presence.test.ts) would stop the churn at a few joins a second; what is tried
  // here is what the room keys' lifetimes bound on their own, with joins as fast as the frame rate allows.
  JOIN_RATE_PER_SEC: '1000',
  JOIN_BURST: '1000',
};
const ROOM_TTL_MS = Number(LIFETIMES.ROOM_TTL_MS);
/** Joins a churning connection sends a second: just under the default MESSAGE_RATE_PER_SEC (20). */
const JOINS_PER_SEC = 19;
/** Room keys start with `{switchboard:<room>}`; the control plane's with `{switchboard}`. */
const ROOM_KEYS = '{switchboard:*';

interface Churn {
  /** Joins sent, answered with `joined`, refused (by code). */
  readonly sent: number;
  readonly joined: number;
  readonly refused: ReadonlyMap<string, number>;
}

/**
 * Every client sends `/join <prefix>-<client>-<n>` JOINS_PER_SEC times a second
 * until `until()` says stop (checked before every join), then waits for an answer
 * to each (a `joined` or an `error`).
 */
async function churn(clients: readonly ChatClient[], prefix: string, until: () => boolean): Promise<Churn> {
  const counts = await Promise.all(
    clients.map(async (client, c) => {
      const first = client.frames.items.length;
      let sent = 0;
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (until()) {
            clearInterval(timer);
            resolve();
            return;
          }
          client.send(`/join ${prefix}-${c}-${sent++}`);
        }, 1000 / JOINS_PER_SEC);
      });
      const answers = () => client.frames.items.slice(first).filter((f) => f.type === 'joined' || f.type === 'error');
      await client.waitFor(() => answers().length >= sent, `answers to ${sent} joins`, WAIT_MS);
      const refused = answers().filter((f): f is ErrorFrame => f.type === 'error');
      return { sent, joined: answers().length - refused.length, refused: refused.map((f) => f.code) };
    }),
  );
  const refused = new Map<string, number>();
  for (const code of counts.flatMap((c) => c.refused)) refused.set(code, (refused.get(code) ?? 0) + 1);
  return { sent: sum(counts.map((c) => c.sent)), joined: sum(counts.map((c) => c.joined)), refused };
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/** What Redis holds: keys, memory, and the rooms and room keys among the keys. */
async function measure(redis: Redis): Promise<{ keys: number; usedMemory: number; rooms: number; roomKeys: string[] }> {
  const info = await redis.info('memory');
  const usedMemory = Number(/^used_memory:(\d+)/m.exec(info)![1]);
  const roomKeys: string[] = [];
  for await (const batch of redis.scanStream({ match: ROOM_KEYS, count: 1000 })) roomKeys.push(...(batch as string[]));
  const rooms = new Set(roomKeys.map((key) => key.slice(0, key.indexOf('}') + 1))).size;
  return { keys: await redis.dbsize(), usedMemory, rooms, roomKeys };
}

/** The room keys that would never expire. */
async function withoutTtl(redis: Redis, keys: readonly string[]): Promise<string[]> {
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.pttl(key);
  const ttls = (await pipeline.exec())!.map(([, ttl]) => ttl as number);
  // -2: gone meanwhile (it expired); -1: no TTL.
  return keys.filter((_, i) => ttls[i] === -1);
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;

describe('join churn', () => {
  // Each test on a Redis of its own: nothing one leaves behind counts in another.
  let redis: RedisServer;
  let probe: Redis;

  beforeEach(async () => {
    redis = await RedisServer.start();
    probe = new Redis(redis.url);
  });

  afterEach(async () => {
    probe?.disconnect();
    await redis?.dispose();
  });

  it('leaves every room key with a TTL; Redis grows by a bounded amount while it lasts and falls back after ROOM_TTL_MS', async (t: TestContext) => {
    const node = await GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: 'churn', ...LIFETIMES } });
    try {
      const stayer = await ChatClient.connect(node.wsUrl);
      const churners = await Promise.all(Array.from({ length: 4 }, () => ChatClient.connect(node.wsUrl)));
      await stayer.barrier('warm');
      const baseline = await measure(probe);

      // Three lifetimes of churn, Redis looked at every second.
      const churnMs = 3 * ROOM_TTL_MS;
      const started = performance.now();
      const samples: Array<Awaited<ReturnType<typeof measure>> & { at: number; untimed: number }> = [];
      const done = () => performance.now() - started >= churnMs;
      const sampling = (async () => {
        while (!done()) {
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          const sample = await measure(probe);
          samples.push({ ...sample, at: performance.now() - started, untimed: (await withoutTtl(probe, sample.roomKeys)).length });
        }
      })();
      const result = await churn(churners, 'churn', done);
      await sampling;
      const end = await measure(probe);
      const untimed = await withoutTtl(probe, end.roomKeys);

      t.diagnostic(
        `churn: ${churners.length} connections, ${result.sent} joins in ${(churnMs / 1000).toFixed(0)} s, ${result.joined} joined, refused: ${JSON.stringify(Object.fromEntries(result.refused))}`,
      );
      t.diagnostic(`baseline: ${baseline.keys} keys, ${kb(baseline.usedMemory)} used, ${baseline.rooms} rooms`);
      for (const s of samples) {
        t.diagnostic(
          `at ${(s.at / 1000).toFixed(1)} s: ${s.keys} keys, ${kb(s.usedMemory)} used (+${kb(s.usedMemory - baseline.usedMemory)}), ${s.rooms} rooms, ${s.untimed} room keys without TTL`,
        );
      }
      t.diagnostic(`end of churn: ${end.keys} keys, ${kb(end.usedMemory)} used, ${end.rooms} rooms (${end.roomKeys.length} room keys)`);

      assert.ok(result.joined > 100, `the churn made too few rooms to tell anything (${result.joined})`);
      assert.deepEqual(untimed, [], 'room keys without a TTL');
      assert.ok(
        samples.every((s) => s.untimed === 0),
        'room keys without a TTL during the churn',
      );
      // Rooms left more than a lifetime ago are gone: at most the last lifetime's (and a second) are kept, not every one made.
      assert.ok(end.rooms < 0.6 * result.joined, `${end.rooms} rooms kept of ${result.joined} made: they do not expire`);

      // Everyone goes; every room they made is forgotten, and Redis is back where it was.
      await Promise.all(churners.map((c) => c.close()));
      const fallen = await eventually(
        async () => {
          const now = await measure(probe);
          return now.rooms <= baseline.rooms && now.keys <= baseline.keys && now;
        },
        { what: 'the rooms made by the churn to expire', timeoutMs: WAIT_MS, intervalMs: 250 },
      );
      t.diagnostic(`after ROOM_TTL_MS: ${fallen.keys} keys, ${kb(fallen.usedMemory)} used, ${fallen.rooms} rooms`);
      // What stays is Redis's own (about 200 KB here, the same after 10 lifetimes of churn as after 3), not the rooms'.
      const peak = Math.max(end.usedMemory, ...samples.map((s) => s.usedMemory));
      assert.ok(
        fallen.usedMemory - baseline.usedMemory < (peak - baseline.usedMemory) / 2,
        `used memory ${kb(fallen.usedMemory)} did not fall back towards ${kb(baseline.usedMemory)} (peak ${kb(peak)})`,
      );
      stayer.send('still here');
      await stayer.waitForMessage('message', 'still here');
      await stayer.close();
    } finally {
      await node.kill();
    }
  });

  it('leaves no key without a TTL for a join refused with ROOM_LIMIT, and none at all once ROOM_TTL_MS has passed', async (t: TestContext) => {
    const node = await GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: 'limit', MAX_ROOMS: '2', ...LIFETIMES } });
    try {
      const holder = await ChatClient.connect(node.wsUrl);
      holder.send('/join taken');
      await holder.waitFor((f) => f.type === 'joined' && f.room === 'taken', 'the last room there is');
      const refused = await ChatClient.connect(node.wsUrl);
      refused.send('/join refused');
      const answer = await refused.waitFor((f) => f.type === 'error' || f.type === 'joined', 'the answer to the join');
      assert.equal(answer.type === 'error' && answer.code, ErrorCode.ROOM_LIMIT);
      const keys = await probe.keys('{switchboard:refused}*');
      t.diagnostic(`keys of the refused room: ${keys.join(', ') || 'none'}`);
      assert.deepEqual(await withoutTtl(probe, keys), [], 'keys of the refused room without a TTL');
      await eventually(async () => (await probe.keys('{switchboard:refused}*')).length === 0, {
        what: "the refused room's keys to expire",
        timeoutMs: WAIT_MS,
        intervalMs: 250,
      });
      await Promise.all([holder.close(), refused.close()]);
    } finally {
      await node.kill();
    }
  });
});

describe('a Redis filled by join churn', () => {
  it('recovers by itself once the rooms expire: /readyz is 200 again and lines go through, with no restart', async (t: TestContext) => {
    const redis = await RedisServer.start({ args: ['--maxmemory-policy', 'noeviction'] });
    const probe = new Redis(redis.url);
    // Rooms live long enough here for the churn to fill the Redis before they expire.
    const lifetimes = { ...LIFETIMES, ROOM_TTL_MS: '6000', ROOM_HISTORY_TTL_MS: '6000' };
    const node = await GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: 'filled', ...lifetimes } });
    try {
      const stayer = await ChatClient.connect(node.wsUrl);
      const churners = await Promise.all(Array.from({ length: 6 }, () => ChatClient.connect(node.wsUrl)));
      await stayer.barrier('warm');
      const baseline = await measure(probe);
      // Room for about 200 churned rooms more than there is now.
      const maxmemory = baseline.usedMemory + 1024 * 1024;
      await probe.config('SET', 'maxmemory', String(maxmemory));
      const mark = node.logs.items.length;

      const started = performance.now();
      let full = false;
      void node.logs
        .waitFor((l) => l.msg === 'gateway not ready' && /out of memory/.test(String(l.reason)), WAIT_MS, 'redis full', mark)
        .then(
          () => (full = true),
          () => undefined,
        );
      const result = await churn(churners, 'fill', () => full || performance.now() - started > WAIT_MS);
      const filledAt = performance.now() - started;
      const atFull = await measure(probe);
      t.diagnostic(
        `filled: maxmemory ${kb(maxmemory)} (${kb(baseline.usedMemory)} used at first), ${result.sent} joins in ${(filledAt / 1000).toFixed(1)} s, ${result.joined} joined, refused: ${JSON.stringify(Object.fromEntries(result.refused))}; ${atFull.rooms} rooms, ${kb(atFull.usedMemory)} used`,
      );
      assert.ok(full, 'the churn never filled Redis');
      const refusedReady = await fetch(`${node.httpUrl}/readyz`);
      assert.equal(refusedReady.status, 503);
      assert.match(((await refusedReady.json()) as { reason: string }).reason, /out of memory/);

      // Nobody restarts or reconfigures anything: the rooms expire, and the bus finds room again.
      await node.waitUntilReady(mark, WAIT_MS);
      const recoveredAt = performance.now() - started;
      const ready = await fetch(`${node.httpUrl}/readyz`);
      assert.equal(ready.status, 200);
      const after = await measure(probe);
      t.diagnostic(
        `ready again ${((recoveredAt - filledAt) / 1000).toFixed(1)} s after Redis filled: ${after.rooms} rooms, ${kb(after.usedMemory)} used`,
      );
      // Readiness comes back once a write fits again; the rooms go on expiring for a while, so a line sent at
      // once may still meet a full Redis (BUS_UNAVAILABLE, as any client is told): it is sent again, as a user would.
      let attempt = 0;
      await eventually(
        async () => {
          const text = `room again ${++attempt}`;
          stayer.send(text);
          return stayer.waitForMessage('message', text, 2_000);
        },
        { what: 'a line to go through again', timeoutMs: WAIT_MS },
      );
      churners[0]!.send('/join after-the-flood');
      await churners[0]!.waitFor((f) => f.type === 'joined' && f.room === 'after-the-flood', 'a join after the recovery');
      await Promise.all([stayer, ...churners].map((c) => c.close()));
    } finally {
      await node.kill();
      probe.disconnect();
      await redis.dispose();
    }
  });
});

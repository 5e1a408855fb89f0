import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, ErrorCode, type ErrorFrame } from '@switchboard/protocol';
import { ChatClient, GatewayProcess, RedisServer } from '@switchboard/testkit';

/**
 * Abuse, part one: what a client (or a crowd) can make the cluster spend or
 * believe through sessions, resumes, Redis and load. Real redis-server, real
 * gateway processes.
 */

const WAIT_MS = 30_000;
const TIMINGS = { RESUME_GRACE_MS: '10000', LEASE_TTL_MS: '3000', SWEEP_INTERVAL_MS: '200', MESSAGE_BURST: '1000' };

const v2 = (url: string, hello: object = {}) => ChatClient.connect(url, { hello });

describe('one holder per session', () => {
  let redis: RedisServer;
  let nodes: GatewayProcess[] = [];

  before(async () => {
    redis = await RedisServer.start();
    nodes = await Promise.all(
      [1, 2].map((n) => GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: `holder-${n}`, ...TIMINGS } })),
    );
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await redis?.dispose();
  });

  for (const [where, other] of [
    ['on another node', 1],
    ['on the same node', 0],
  ] as const) {
    it(`closes the older connection with 4004 when its session is resumed ${where}, before the new one is welcomed; nobody hears a leave`, async () => {
      const watcher = await ChatClient.connect(nodes[1]!.wsUrl);
      const first = await v2(nodes[0]!.wsUrl);
      await watcher.waitForMessage('notification', `${first.welcome.nickname} has connected`);
      let firstClosed = false;
      void first.closed.then(() => (firstClosed = true));
      const second = await v2(nodes[other]!.wsUrl, {
        session: first.welcome.session,
        since: first.welcome.seq,
        epoch: first.welcome.epoch,
      });
      assert.equal(second.welcome.resumed, true);
      assert.equal(second.welcome.id, first.welcome.id);
      const closed = await first.closed;
      assert.equal(closed.code, CloseCode.SESSION_RESUMED_ELSEWHERE);
      assert.ok(firstClosed || closed.code === CloseCode.SESSION_RESUMED_ELSEWHERE);
      second.sendJson({ type: 'message', message: 'I am the only one now', ref: 'one-1' });
      await watcher.waitForMessage('message', 'I am the only one now');
      await watcher.barrier('holder');
      assert.ok(
        !watcher.events.some((e) => e.type === 'notification' && e.id === first.id && e.event === 'disconnected'),
        'the replaced connection was announced as a leave',
      );
      await second.close();
      await watcher.waitForMessage('notification', `${first.welcome.nickname} has disconnected`);
      await watcher.close();
    });
  }
});

describe('resume bounds', () => {
  let redis: RedisServer;
  let node: GatewayProcess;

  before(async () => {
    redis = await RedisServer.start();
    node = await GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: 'bounds', RESUME_MAX_BYTES: '4096', ...TIMINGS } });
  });

  after(async () => {
    await node?.kill();
    await redis?.dispose();
  });

  it('never replays events from before the session began', async () => {
    const talker = await ChatClient.connect(node.wsUrl);
    for (let i = 0; i < 10; i++) talker.send(`before you came ${i}`);
    await talker.waitForMessage('message', 'before you came 9');
    const fresh = await v2(node.wsUrl);
    const welcome = fresh.welcome;
    fresh.reset();
    const forged = await v2(node.wsUrl, { session: welcome.session, since: welcome.seq! - 8, epoch: welcome.epoch });
    assert.equal(forged.welcome.resumed, false, 'a since from before the session began is refused');
    talker.send('after the forged resume');
    await forged.waitForMessage('message', 'after the forged resume');
    // The lines of the room it is in come as history (as to anyone welcomed without a resume), never as a replay.
    const replayed = forged.events.filter((e) => !(e.type === 'message' && e.history));
    assert.ok(!replayed.some((e) => e.message.startsWith('before you came')), 'no event from before the session was replayed');
    await node.logs.waitFor((l) => /from before the session began/.test(l.msg), WAIT_MS, 'the refusal in the log');
    await Promise.all([talker.close(), forged.close()]);
  });

  it('refuses a replay larger than RESUME_MAX_BYTES: resumed false, and live events from then on', async () => {
    const reader = await v2(node.wsUrl);
    const talker = await ChatClient.connect(node.wsUrl);
    const hello = { session: reader.welcome.session, since: reader.welcome.seq, epoch: reader.welcome.epoch };
    reader.reset();
    for (let i = 0; i < 20; i++) talker.send(`${'x'.repeat(300)} ${i}`);
    await talker.waitForMessage('message', `${'x'.repeat(300)} 19`);
    const back = await v2(node.wsUrl, hello);
    assert.equal(back.welcome.resumed, false, '20 lines of 300 bytes are more than 4096 bytes to replay');
    talker.send('live again');
    await back.waitForMessage('message', 'live again');
    const replayed = back.events.filter((e) => !(e.type === 'message' && e.history));
    assert.ok(
      !replayed.some((e) => e.message.startsWith('xxx')),
      "nothing of the refused replay was sent (the room's last lines come as history)",
    );
    await Promise.all([talker.close(), back.close()]);
  });
});

describe('bounded Redis', () => {
  it('keeps its key count flat however many seed sessions come and go and lines are sent', async () => {
    const redis = await RedisServer.start();
    const node = await GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: 'keys', MESSAGE_BURST: '2000' } });
    try {
      const talker = await ChatClient.connect(node.wsUrl);
      await talker.barrier('warm');
      const before = Number(await redis.cli('DBSIZE'));
      for (let i = 0; i < 100; i++) {
        const visitor = await ChatClient.connect(node.wsUrl);
        visitor.send(`visit ${i}`);
        await visitor.waitForMessage('message', `visit ${i}`);
        await visitor.close();
      }
      for (let i = 0; i < 1000; i++) talker.send(`line ${i}`);
      await talker.waitForMessage('message', 'line 999', WAIT_MS);
      const afterwards = Number(await redis.cli('DBSIZE'));
      assert.ok(afterwards <= before + 1, `keys grew from ${before} to ${afterwards}`);
      await talker.close();
    } finally {
      await node.kill();
      await redis.dispose();
    }
  });

  it('answers a full Redis (maxmemory, noeviction) like an outage, and recovers when it has room', async () => {
    const redis = await RedisServer.start({ args: ['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction'] });
    const node = await GatewayProcess.start({
      env: { REDIS_URL: redis.url, NODE_ID: 'full', MESSAGE_RATE_PER_SEC: '100000', MESSAGE_BURST: '100000' },
    });
    try {
      const client = await ChatClient.connect(node.wsUrl);
      const line = 'y'.repeat(400);
      let refused: ErrorFrame | undefined;
      void client
        .waitFor((f) => f.type === 'error', 'a refusal', 120_000)
        .then(
          (f) => (refused = f as ErrorFrame),
          () => undefined,
        );
      // Bounded: at most 100 batches of 200 lines (about 8 MB), until Redis is full.
      for (let batch = 0; batch < 100 && !refused; batch++) {
        for (let i = 0; i < 200; i++) client.send(`${line} ${batch}.${i}`);
        await client.waitFor(
          (f) => (f.type === 'message' && f.message === `${line} ${batch}.199`) || f.type === 'error',
          'the batch or a refusal',
          WAIT_MS,
        );
      }
      assert.ok(refused, 'Redis never filled up');
      assert.equal(refused.code, ErrorCode.BUS_UNAVAILABLE);
      const ready = await fetch(`${node.httpUrl}/readyz`);
      assert.equal(ready.status, 503);
      assert.match(((await ready.json()) as { reason: string }).reason, /out of memory/);
      const mark = node.logs.items.length;
      await redis.cli('CONFIG', 'SET', 'maxmemory', '0');
      await node.waitUntilReady(mark, WAIT_MS);
      client.send('room again');
      await client.waitForMessage('message', 'room again');
      await client.close();
    } finally {
      await node.kill();
      await redis.dispose();
    }
  });
});

describe('a busy node is not a dead one', () => {
  it(
    'announces no leave for clients that stay connected while their node is flooded, and still sweeps a killed node',
    { timeout: 180_000 },
    async () => {
      const redis = await RedisServer.start();
      const env = {
        REDIS_URL: redis.url,
        LEASE_TTL_MS: '1000',
        SWEEP_INTERVAL_MS: '200',
        MESSAGE_RATE_PER_SEC: '100',
        MESSAGE_BURST: '200',
        MAX_BUFFERED_BYTES: '262144',
      };
      const [busy, senders, doomed] = await Promise.all(
        ['busy', 'senders', 'doomed'].map((name) => GatewayProcess.start({ env: { ...env, NODE_ID: name } })),
      );
      try {
        const watcher = await ChatClient.connect(senders!.wsUrl);
        // On the busy node: clients that read, and many that stop reading.
        const readers = await Promise.all(Array.from({ length: 10 }, () => ChatClient.connect(busy!.wsUrl)));
        const stalled = await Promise.all(Array.from({ length: 60 }, () => ChatClient.connect(busy!.wsUrl)));
        for (const s of stalled) s.stallReading();
        const talkers = await Promise.all(Array.from({ length: 20 }, () => ChatClient.connect(senders!.wsUrl)));
        const line = 'z'.repeat(400);
        // Bounded: 20 talkers x 10 rounds x 5 lines = 1,000 lines of 400 bytes, in about 10 s.
        for (let round = 0; round < 10; round++) {
          for (const [t, talker] of talkers.entries()) for (let i = 0; i < 5; i++) talker.send(`${line} ${round}.${t}.${i}`);
          await watcher.waitForMessage('message', `${line} ${round}.${talkers.length - 1}.4`, WAIT_MS);
        }
        // The clients that kept reading got every line, on the busy node too.
        for (const reader of readers) await reader.waitForMessage('message', `${line} 9.${talkers.length - 1}.4`, WAIT_MS);

        // A killed node is still found dead and its client announced as gone.
        const victim = await ChatClient.connect(doomed!.wsUrl);
        await watcher.waitForMessage('notification', `${victim.welcome.nickname} has connected`);
        await doomed!.kill();
        await watcher.waitForMessage('notification', `${victim.welcome.nickname} has disconnected`, WAIT_MS);

        await watcher.barrier('busy');
        const stayed = new Set([...readers, ...talkers].map((c) => c.id));
        const falseLeaves = watcher.events.filter((e) => e.type === 'notification' && e.event === 'disconnected' && stayed.has(e.id));
        assert.deepEqual(
          falseLeaves.map((e) => e.nickname),
          [],
          'clients that stayed connected were announced as gone',
        );
        await Promise.all([watcher, ...readers, ...talkers].map((c) => c.close()));
        for (const s of stalled) s.drop();
      } finally {
        await Promise.all([busy, senders, doomed].filter((n) => n !== undefined).map((n) => n.kill()));
        await redis.dispose();
      }
    },
  );

  it('sheds load while its event loop lags: not ready (so new clients go elsewhere), then ready again, its clients kept', async () => {
    const node = await GatewayProcess.start({ env: { NODE_ID: 'laggy', MAX_EVENT_LOOP_LAG_MS: '300' } });
    try {
      const client = await ChatClient.connect(node.wsUrl);
      const mark = node.logs.items.length;
      // Stop the process for a while: when it runs again, its event loop is that far behind.
      process.kill(node.pid!, 'SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      process.kill(node.pid!, 'SIGCONT');
      const refusing = await node.logs.waitFor((l) => l.msg === 'gateway not ready', WAIT_MS, 'the node to shed load', mark);
      assert.match(String(refusing.reason), /overloaded \(event loop lag \d+ ms\)/);
      await node.waitUntilReady(mark, WAIT_MS);
      client.send('still served');
      await client.waitForMessage('message', 'still served');
      await client.close();
    } finally {
      await node.kill();
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { ChatClient, eventually, GatewayProcess, RedisServer } from '@switchboard/testkit';

/** Longest wait for a lease to lapse and a sweep to notice, in ms. */
const SWEEP_WAIT_MS = 30_000;
const TIMINGS = { LEASE_TTL_MS: '3000', SWEEP_INTERVAL_MS: '200', RESUME_GRACE_MS: '1000' };

describe('edge cases of sessions and ordering', () => {
  let redis: RedisServer;
  let nodes: GatewayProcess[] = [];

  before(async () => {
    redis = await RedisServer.start({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    nodes = await Promise.all([1, 2].map((n) => GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: `edge-${n}`, ...TIMINGS } })));
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await redis?.dispose();
  });

  it('leaves no ghost behind when connections close before their welcome', async () => {
    const watcher = await ChatClient.connect(nodes[1]!.wsUrl);
    await Promise.all(
      Array.from({ length: 20 }, () => {
        const socket = new WebSocket(nodes[0]!.wsUrl);
        socket.on('error', () => undefined);
        socket.once('open', () => socket.terminate());
        return new Promise((resolve) => socket.once('close', resolve));
      }),
    );
    await eventually(async () => (await redis.cli('SCARD', '{switchboard}:node-sessions:edge-1')).trim() === '0', {
      timeoutMs: SWEEP_WAIT_MS,
      what: 'edge-1 to hold no session',
    });
    await watcher.barrier('ghosts');
    const notices = watcher.events.filter((e) => e.type === 'notification' && e.id !== watcher.id);
    const connected = new Set(notices.filter((e) => e.message.endsWith('has connected')).map((e) => e.id));
    const disconnected = new Set(notices.filter((e) => e.message.endsWith('has disconnected')).map((e) => e.id));
    assert.deepEqual([...disconnected].sort(), [...connected].sort(), 'everyone announced as connected was announced as gone');
    await watcher.close();
  });

  it('announces a leave after everything the client sent before it, with its latest name', async () => {
    const watcher = await ChatClient.connect(nodes[1]!.wsUrl);
    for (let i = 0; i < 10; i++) {
      const quick = await ChatClient.connect(nodes[0]!.wsUrl);
      quick.send(`/nick quick${i}`);
      quick.send(`bye ${i}`);
      // close() rather than drop(): a terminated socket may discard frames not yet flushed.
      void quick.close();
      const gone = await watcher.waitForMessage('notification', `quick${i} has disconnected`);
      const mine = watcher.events.filter((e) => e.id === quick.id).map((e) => e.type);
      assert.deepEqual(mine, ['notification', 'nick_update', 'message', 'notification']);
      assert.equal(gone.id, quick.id);
    }
    await watcher.close();
  });

  it('announces a leave that happened while Redis was down once Redis is back', async () => {
    const watcher = await ChatClient.connect(nodes[1]!.wsUrl);
    const leaver = await ChatClient.connect(nodes[0]!.wsUrl);
    await watcher.waitForMessage('notification', `${leaver.welcome.nickname} has connected`);
    const marks = nodes.map((n) => n.logs.items.length);
    await redis.stop();
    await nodes[0]!.logs.waitFor((l) => l.msg === 'gateway not ready', SWEEP_WAIT_MS, 'edge-1 to lose redis', marks[0]);
    await leaver.close();
    await nodes[0]!.logs.waitFor((l) => l.msg === 'session leave kept until redis is back', SWEEP_WAIT_MS, 'the kept leave', marks[0]);
    await redis.restart();
    await watcher.waitForMessage('notification', `${leaver.welcome.nickname} has disconnected`, SWEEP_WAIT_MS);
    await Promise.all(nodes.map((n, i) => n.waitUntilReady(marks[i]!, SWEEP_WAIT_MS)));
    await watcher.close();
  });

  it('starts a new epoch when Redis goes back in time, so new lines are not mistaken for old ones', async () => {
    const watcher = await ChatClient.connect(nodes[1]!.wsUrl);
    const talker = await ChatClient.connect(nodes[0]!.wsUrl);
    for (const text of ['one', 'two', 'three']) talker.send(text);
    const last = await watcher.waitForMessage('message', 'three');
    // Lose the newest three events, as a Redis that crashed before syncing its AOF would.
    for (let seq = last.seq; seq > last.seq - 3; seq--) await redis.cli('XDEL', '{switchboard:lobby}:history', `0-${seq}`);
    await redis.cli('SET', '{switchboard:lobby}:seq', String(last.seq - 3));
    const marks = nodes.map((n) => n.logs.items.length);
    await redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await Promise.all(
      nodes.map((n, i) => n.logs.waitFor((l) => /went back in time|epoch changed/.test(l.msg), SWEEP_WAIT_MS, 'the new epoch', marks[i])),
    );
    await Promise.all(nodes.map((n, i) => n.waitUntilReady(marks[i]!, SWEEP_WAIT_MS)));
    talker.send('after the rewind');
    const fresh = await watcher.waitForMessage('message', 'after the rewind');
    assert.notEqual(fresh.epoch, last.epoch);
    await Promise.all([watcher.close(), talker.close()]);
  });

  it('does not take a node paused past its lease for dead while it is still connected: its clients are never announced as gone', async () => {
    const paused = await GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: 'edge-slow', ...TIMINGS } });
    try {
      const watcher = await ChatClient.connect(nodes[1]!.wsUrl);
      const sleeper = await ChatClient.connect(paused.wsUrl);
      await watcher.waitForMessage('notification', `${sleeper.welcome.nickname} has connected`);
      const marks = nodes.map((n) => n.logs.items.length);
      process.kill(paused.pid!, 'SIGSTOP');
      try {
        // A sweeper has looked at it: lease lapsed, connections open: slow, not dead.
        await Promise.any(
          nodes.map((n, i) =>
            n.logs.waitFor((l) => /slow, not dead/.test(l.msg) && l.node === 'edge-slow', SWEEP_WAIT_MS, 'the slow node noticed', marks[i]),
          ),
        );
      } finally {
        process.kill(paused.pid!, 'SIGCONT');
      }
      sleeper.send('still here');
      await watcher.waitForMessage('message', 'still here');
      await watcher.barrier('slow');
      assert.ok(
        !watcher.events.some((e) => e.type === 'notification' && e.id === sleeper.id && e.event === 'disconnected'),
        'a client that stayed connected was announced as gone',
      );
      await sleeper.close();
      await watcher.waitForMessage('notification', `${sleeper.welcome.nickname} has disconnected`);
      await watcher.close();
    } finally {
      await paused.kill();
    }
  });

  it('takes a paused node whose connections are gone for dead, then brings its clients back when it wakes, announcing them once more', async () => {
    const paused = await GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: 'edge-paused', ...TIMINGS } });
    try {
      const watcher = await ChatClient.connect(nodes[1]!.wsUrl);
      const sleeper = await ChatClient.connect(paused.wsUrl);
      await watcher.waitForMessage('notification', `${sleeper.welcome.nickname} has connected`);
      process.kill(paused.pid!, 'SIGSTOP');
      try {
        // Cut it off from Redis, as a network failure would: now it looks dead from everywhere.
        const list = await redis.cli('CLIENT', 'LIST');
        for (const line of list.split('\n').filter((l) => / name=edge-paused:/.test(l))) {
          await redis.cli('CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(line)![1]!);
        }
        await watcher.waitForMessage('notification', `${sleeper.welcome.nickname} has disconnected`, SWEEP_WAIT_MS);
      } finally {
        process.kill(paused.pid!, 'SIGCONT');
      }
      await watcher.waitFor(
        (f) => f.type === 'notification' && f.id === sleeper.id && f.event === 'connected' && f.seq > sleeper.welcome.seq! + 1,
        'the paused client announced again',
        SWEEP_WAIT_MS,
      );
      sleeper.send('still here');
      await watcher.waitForMessage('message', 'still here');
      await sleeper.close();
      await watcher.waitFor(
        (f) => f.type === 'notification' && f.id === sleeper.id && f.event === 'disconnected' && f.seq > sleeper.welcome.seq! + 3,
        'the real leave',
      );
      await watcher.close();
    } finally {
      await paused.kill();
    }
  });
});

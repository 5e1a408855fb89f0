import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, isBroadcastEvent, type ErrorFrame } from '@switchboard/protocol';
import { ChatClient, GatewayProcess, RedisServer } from '@switchboard/testkit';

/** Longest wait for the gateways to notice Redis going or coming back, in ms. */
const NOTICE_MS = 30_000;

describe('when Redis goes away and comes back empty', () => {
  let redis: RedisServer;
  let nodes: GatewayProcess[] = [];

  before(async () => {
    redis = await RedisServer.start();
    nodes = await Promise.all([1, 2].map((n) => GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: `node-${n}` } })));
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await redis?.dispose();
  });

  it('stays up, reports not ready, refuses lines and upgrades clearly, then resubscribes with no restart', async () => {
    const a = await ChatClient.connect(nodes[0]!.wsUrl);
    const b = await ChatClient.connect(nodes[1]!.wsUrl);
    const modern = await ChatClient.connect(nodes[0]!.wsUrl, { hello: {} });
    const epochBefore = modern.welcome.epoch;
    const from = nodes.map((n) => n.logs.items.length);

    await redis.kill();
    await Promise.all(nodes.map((n, i) => n.logs.waitFor((l) => l.msg === 'gateway not ready', NOTICE_MS, 'gateway not ready', from[i])));

    const ready = await fetch(`${nodes[0]!.httpUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(((await ready.json()) as { reason: string }).reason, /redis/);
    assert.equal((await fetch(`${nodes[0]!.httpUrl}/healthz`)).status, 200, 'the process is alive');
    await assert.rejects(ChatClient.connect(nodes[0]!.wsUrl), /503/);

    a.send('lost in the outage?');
    const error = await a.waitFor((f) => f.type === 'error', 'a BUS_UNAVAILABLE error');
    assert.equal((error as { code: string }).code, ErrorCode.BUS_UNAVAILABLE);
    modern.sendJson({ type: 'message', message: 'v2 in the outage', ref: 'out-1' });
    const refused = (await modern.waitFor((f) => f.type === 'error', 'an error carrying the ref')) as ErrorFrame;
    assert.equal(refused.ref, 'out-1', 'the v2 client learns which line was not sent');

    await redis.restart();
    // Ready as a whole (bus and session store): the moment a node accepts upgrades again.
    await Promise.all(nodes.map((n, i) => n.waitUntilReady(from[i]!, NOTICE_MS)));
    assert.equal((await fetch(`${nodes[0]!.httpUrl}/readyz`)).status, 200);

    // The same connections chat again across nodes.
    a.send('after the outage');
    await b.waitForMessage('message', 'after the outage');
    b.send('heard you');
    await a.waitForMessage('message', 'heard you');
    const late = await ChatClient.connect(nodes[1]!.wsUrl);
    await a.waitForMessage('notification', `${late.welcome.nickname} has connected`);

    // Redis came back empty (no persistence here): the history is gone, so the epoch is new
    // and a resume from the old epoch says resumed:false rather than pretending nothing was missed.
    const after = await modern.waitForMessage('message', 'heard you');
    assert.notEqual(after.epoch, epochBefore);
    const retry = await ChatClient.connect(nodes[1]!.wsUrl, {
      hello: { session: modern.welcome.session, since: modern.welcome.seq, epoch: epochBefore },
    });
    assert.equal(retry.welcome.resumed, false);
    assert.equal(retry.welcome.epoch, after.epoch);
    await Promise.all([a.close(), b.close(), late.close(), retry.close(), modern.close()]);
  });
});

describe('when Redis restarts with its append-only file', () => {
  it('keeps the history and the epoch: a client resumes across the restart with nothing lost', async () => {
    const redis = await RedisServer.start({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    const nodes = await Promise.all([1, 2].map((n) => GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: `aof-${n}` } })));
    try {
      const talker = await ChatClient.connect(nodes[0]!.wsUrl);
      const modern = await ChatClient.connect(nodes[1]!.wsUrl, { hello: {} });
      talker.send('before the restart');
      const seen = await modern.waitForMessage('message', 'before the restart');
      const hello = { session: modern.welcome.session!, since: seen.seq, epoch: modern.welcome.epoch! };
      modern.reset();
      talker.send('sent just before the restart');
      await talker.waitForMessage('message', 'sent just before the restart');

      const back = nodes.map((n) => n.logs.items.length);
      await redis.stop();
      await redis.restart();
      await Promise.all(nodes.map((n, i) => n.waitUntilReady(back[i]!, NOTICE_MS)));

      const resumed = await ChatClient.connect(nodes[0]!.wsUrl, { hello });
      assert.equal(resumed.welcome.resumed, true);
      assert.equal(resumed.welcome.epoch, hello.epoch);
      // Everything after `since` comes back, in order: the line, and anything published around it.
      const missed = await resumed.waitForMessage('message', 'sent just before the restart');
      const replayed = resumed.frames.items.filter(isBroadcastEvent);
      assert.deepEqual(
        replayed.map((e) => e.seq),
        Array.from({ length: missed.seq - hello.since }, (_, i) => hello.since + 1 + i),
      );
      await Promise.all([talker.close(), resumed.close()]);
    } finally {
      await Promise.all(nodes.map((n) => n.kill()));
      await redis.dispose();
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '@switchboard/protocol';
import { ChatClient, GatewayProcess, RedisServer } from '@switchboard/testkit';

/** Longest wait for the gateways to notice Redis going or coming back, in ms. */
const NOTICE_MS = 15_000;

describe('when Redis goes away and comes back', () => {
  let redis: RedisServer;
  let nodes: GatewayProcess[] = [];

  before(async () => {
    redis = await RedisServer.start();
    nodes = await Promise.all(
      [1, 2].map((n) => GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: `node-${n}` } })),
    );
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await redis?.dispose();
  });

  it('stays up, reports not ready, refuses lines and upgrades clearly, then resubscribes with no restart', async () => {
    const a = await ChatClient.connect(nodes[0]!.wsUrl);
    const b = await ChatClient.connect(nodes[1]!.wsUrl);
    const from = nodes.map((n) => n.logs.items.length);

    await redis.kill();
    await Promise.all(nodes.map((n, i) => n.logs.waitFor((l) => l.msg === 'bus not ready', NOTICE_MS, 'bus not ready', from[i])));

    const ready = await fetch(`${nodes[0]!.httpUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(((await ready.json()) as { reason: string }).reason, /redis/);
    assert.equal((await fetch(`${nodes[0]!.httpUrl}/healthz`)).status, 200, 'the process is alive');
    await assert.rejects(ChatClient.connect(nodes[0]!.wsUrl), /503/);

    a.send('lost in the outage?');
    const error = await a.waitFor((f) => f.type === 'error', 'a BUS_UNAVAILABLE error');
    assert.equal((error as { code: string }).code, ErrorCode.BUS_UNAVAILABLE);

    const back = nodes.map((n) => n.logs.items.length);
    await redis.restart();
    await Promise.all(nodes.map((n, i) => n.logs.waitFor((l) => l.msg === 'bus ready', NOTICE_MS, 'bus ready', back[i])));
    assert.equal((await fetch(`${nodes[0]!.httpUrl}/readyz`)).status, 200);

    // The same connections chat again across nodes.
    a.send('after the outage');
    await b.waitForMessage('message', 'after the outage');
    b.send('heard you');
    await a.waitForMessage('message', 'heard you');
    const late = await ChatClient.connect(nodes[1]!.wsUrl);
    await a.waitForMessage('notification', `${late.welcome.nickname} has connected`);
    await Promise.all([a.close(), b.close(), late.close()]);
  });
});

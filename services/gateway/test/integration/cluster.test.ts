import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode } from '@switchboard/protocol';
import { ChatClient, GatewayProcess, RedisServer } from '@switchboard/testkit';
import { chatScenarios } from './chat-scenarios.js';

describe('three gateways over a real Redis', () => {
  let redis: RedisServer;
  let nodes: GatewayProcess[] = [];

  before(async () => {
    redis = await RedisServer.start();
    nodes = await Promise.all([1, 2, 3].map((n) => GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: `node-${n}` } })));
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await redis?.dispose();
  });

  it('serves each client from the node it connected to', async () => {
    const clients = await Promise.all(nodes.map((n) => ChatClient.connect(n.wsUrl)));
    assert.deepEqual(
      clients.map((c) => c.node),
      ['node-1', 'node-2', 'node-3'],
    );
    await Promise.all(clients.map((c) => c.close()));
  });

  chatScenarios((i) => nodes[i]!.wsUrl);

  it('drains a node on SIGTERM: not ready at once, clients closed with 1012 and announced, exit 0', async () => {
    const extra = await GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: 'node-4', DRAIN_DELAY_MS: '500' } });
    const watcher = await ChatClient.connect(nodes[0]!.wsUrl);
    const leaving = await ChatClient.connect(extra.wsUrl);
    const exit = extra.stop('SIGTERM');
    await extra.logs.waitFor((l) => l.msg === 'draining', 15_000, 'the drain to start');
    const ready = await fetch(`${extra.httpUrl}/readyz`);
    assert.equal(ready.status, 503, 'the load balancer is told to stop routing here');
    assert.equal(((await ready.json()) as { reason: string }).reason, 'shutting down');
    assert.equal((await leaving.closed).code, CloseCode.SERVICE_RESTART);
    await watcher.waitForMessage('notification', `${leaving.welcome.nickname} has disconnected`);
    assert.deepEqual(await exit, { code: 0, signal: null });
    await watcher.close();
  });
});

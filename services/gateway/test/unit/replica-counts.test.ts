import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ReplicaCounts } from '../../src/redis/replica-counts.js';
import type { RedisClient } from '../../src/redis/client.js';

const logger = pino({ level: 'silent' });
const FORGET_MS = 30_000;

/** One Redis whose ROLE lists `replicas[i]` replicas at its i-th count (the same run_id throughout). */
function redisCounting(replicas: number[]): RedisClient {
  let count = 0;
  const fake = {
    call: async () => [
      'master',
      0,
      Array.from({ length: replicas[Math.min(count++, replicas.length - 1)]! }, () => ['127.0.0.1', '1', '0']),
    ],
    info: async () => 'run_id:abc\r\n',
    on: () => fake,
  };
  return fake as unknown as RedisClient;
}

describe('ReplicaCounts', () => {
  const counts = (replicas: number[]) =>
    new ReplicaCounts(redisCounting(replicas), {
      minReplicasAck: 'auto',
      replicaForgetMs: FORGET_MS,
      checkIntervalMs: 1_000,
      logger,
      now: () => 0,
    });

  it('waits for a replica while one is counted, and for REPLICA_FORGET_MS after it was seen in two counts running', async () => {
    const replicas = counts([1, 1, 0]);
    await replicas.refresh();
    assert.equal(replicas.needed('k'), 1);
    await replicas.refresh();
    await replicas.refresh();
    assert.equal(replicas.needed('k'), 1, 'the replica that went is still waited for');
  });

  it('does not remember a replica seen in one count only (a promoted replica listed with its dead master for a moment)', async () => {
    const replicas = counts([0, 1, 0]);
    await replicas.refresh();
    assert.equal(replicas.needed('k'), 0);
    await replicas.refresh();
    assert.equal(replicas.needed('k'), 1, 'counted now: waited for');
    await replicas.refresh();
    assert.equal(replicas.needed('k'), 0, 'gone at the next count, and not remembered');
  });
});

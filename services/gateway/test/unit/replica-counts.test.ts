import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ReplicaCounts } from '../../src/redis/replica-counts.js';
import type { RedisClient } from '../../src/redis/client.js';

const logger = pino({ level: 'silent' });
const FORGET_MS = 30_000;

/** One Redis as its i-th count finds it: its run_id and how many replicas it lists (a promotion changes the run_id). */
function redisCounting(counts: ReadonlyArray<readonly [id: string, replicas: number]>): RedisClient {
  let count = 0;
  let now = counts[0]!;
  const fake = {
    call: async () => {
      now = counts[Math.min(count++, counts.length - 1)]!;
      return ['master', 0, Array.from({ length: now[1] }, () => ['127.0.0.1', '1', '0'])];
    },
    info: async () => `run_id:${now[0]}\r\n`,
    on: () => fake,
  };
  return fake as unknown as RedisClient;
}

describe('ReplicaCounts', () => {
  const counts = (seen: ReadonlyArray<readonly [string, number]>) =>
    new ReplicaCounts(redisCounting(seen), {
      minReplicasAck: 'auto',
      replicaForgetMs: FORGET_MS,
      checkIntervalMs: 1_000,
      logger,
      now: () => 0,
    });

  it('waits for a replica while one is counted, and for REPLICA_FORGET_MS after it went', async () => {
    const replicas = counts([
      ['master-1', 1],
      ['master-1', 0],
    ]);
    await replicas.refresh();
    assert.equal(replicas.needed('k'), 1);
    await replicas.refresh();
    assert.equal(replicas.needed('k'), 1, 'the replica that went is still waited for');
  });

  it('does not remember a replica listed once beside a just-promoted master (its dead master, for a moment)', async () => {
    const replicas = counts([
      ['master-1', 1],
      ['promoted', 1],
      ['promoted', 0],
    ]);
    await replicas.refresh();
    await replicas.refresh();
    assert.equal(replicas.needed('k'), 1, 'counted now: waited for');
    await replicas.refresh();
    assert.equal(replicas.needed('k'), 0, 'gone at the next count, and not remembered');
  });
});

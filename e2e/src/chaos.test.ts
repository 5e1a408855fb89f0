import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { analyse, countBy } from './chaos-report.js';
import { STEADY_MS, chaosFixture } from './chaos-run.js';

/**
 * Issue 5's proof: 30 SDK clients (protocol v2) through the load balancer, all
 * sending, while a gateway is SIGKILLed, another is drained, and Redis restarts.
 * Afterwards every client must hold the same contiguous sequence, with every
 * line sent in it exactly once.
 */
const CLIENTS = 30;
const SCENARIO_TIMEOUT_MS = 170_000;
/**
 * How long Redis stays down in its restart: longer than LEASE_TTL_MS, so every
 * lease expires meanwhile, and long enough that lines sent then are refused with
 * BUS_UNAVAILABLE and retried.
 */
const REDIS_DOWN_MS = 2_500;
const REPORT = new URL('../../test-output/e2e-chaos.txt', import.meta.url);

const fixture = chaosFixture();

describe('chaos: 30 v2 clients sending through a SIGKILL, a drain and a Redis restart', { timeout: SCENARIO_TIMEOUT_MS }, () => {
  test(
    'every client ends with the same contiguous sequence holding every line exactly once',
    { timeout: SCENARIO_TIMEOUT_MS },
    async (t) => {
      const run = fixture.start(t);
      if (!run) return;
      const { target, probes } = run;
      await run.connect(CLIENTS);
      const epoch = probes[0]!.client.position!.epoch;

      // Everybody sends, for the whole scenario.
      run.startSending();
      await delay(STEADY_MS);

      const killed = await run.killAndRestart();
      const drained = [...countBy(probes.map((p) => p.node))].filter(([n]) => n !== killed).sort((a, b) => b[1] - a[1])[0]![0];
      await run.blow(
        `SIGTERM (drain) ${drained}`,
        drained,
        () => target.drain(drained),
        () => target.restart(drained),
      );
      await run.blow(
        'Redis restart',
        undefined,
        () => target.restartRedis(REDIS_DOWN_MS),
        async () => undefined,
      );

      // Stop sending; wait for every line to be settled, then for every client to have everything.
      await run.stopSending();
      const finalSeq = await run.quiesce(probes);
      const report = analyse(probes, run.lines, epoch, finalSeq);
      run.writeReport('chaos scenario (e2e/src/chaos.test.ts)', report, REPORT);

      assert.ok(run.rate >= 50, 'at least 50 lines per second were sent');
      assert.deepEqual(report.epochs, [], 'the epoch never changed (Redis runs with AOF)');
      run.assertNothingLost(report);
    },
  );
});

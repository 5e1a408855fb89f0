import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { EventLoopMonitor } from '../../src/health/event-loop-monitor.js';

describe('EventLoopMonitor', () => {
  it('reports overload when a sample comes in later than the limit, and calm only after a second under half of it', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      let now = 0;
      const changes: boolean[] = [];
      const monitor = new EventLoopMonitor(
        500,
        (overloaded) => changes.push(overloaded),
        () => now,
      );
      monitor.start();
      const sample = (lagMs: number) => {
        now += 250 + lagMs;
        mock.timers.tick(250);
      };
      sample(10);
      assert.equal(monitor.overloaded, false);
      sample(700); // the loop was busy for 700 ms
      assert.equal(monitor.overloaded, true);
      assert.equal(Math.round(monitor.lagMs), 700);
      sample(300); // better, but not under half the limit: no flapping
      sample(100);
      sample(100);
      sample(100);
      assert.equal(monitor.overloaded, true, 'three calm samples are not enough');
      sample(100);
      assert.equal(monitor.overloaded, false);
      assert.deepEqual(changes, [true, false]);
      monitor.stop();
    } finally {
      mock.timers.reset();
    }
  });

  it('never reports overload when the limit is 0', () => {
    let calls = 0;
    const monitor = new EventLoopMonitor(0, () => calls++);
    monitor.start();
    monitor.stop();
    assert.equal(monitor.overloaded, false);
    assert.equal(calls, 0);
  });
});

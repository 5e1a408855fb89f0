import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { Throttle } from '../src/throttle.js';

describe('Throttle, what the page does by itself at a bounded rate', () => {
  it('runs at once, then at most once per interval however often it is asked, and waits after a run it was told of', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    try {
      let runs = 0;
      const throttle = new Throttle(10_000, () => runs++);
      throttle.request();
      assert.equal(runs, 1);
      for (let i = 0; i < 5; i++) throttle.request();
      assert.equal(runs, 1);
      mock.timers.tick(9_999);
      assert.equal(runs, 1);
      mock.timers.tick(1);
      assert.equal(runs, 2, 'the asks meanwhile made one run, when the interval was over');
      mock.timers.tick(30_000);
      assert.equal(runs, 2, 'nothing runs unasked');

      throttle.request();
      assert.equal(runs, 3);
      mock.timers.tick(5_000);
      throttle.request();
      throttle.ran(); // a person asked meanwhile
      mock.timers.tick(9_999);
      assert.equal(runs, 3, 'the run waiting was dropped');
      throttle.request();
      mock.timers.tick(1);
      assert.equal(runs, 4);
    } finally {
      mock.timers.reset();
    }
  });
});

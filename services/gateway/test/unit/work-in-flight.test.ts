import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkInFlight } from '../../src/hub/work-in-flight.js';

/** A promise the test settles. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('WorkInFlight', () => {
  it('is idle at once when nothing is under way', async () => {
    const work = new WorkInFlight();
    assert.equal(work.size, 0);
    await work.idle();
  });

  it('is idle only once every piece of work has settled, rejected ones included', async () => {
    const work = new WorkInFlight();
    const [a, b] = [deferred(), deferred()];
    work.add(a.promise);
    work.add(b.promise);
    let idle = false;
    void work.idle().then(() => (idle = true));
    a.resolve();
    await turn();
    assert.equal(idle, false, 'one is still under way');
    assert.equal(work.size, 1);
    b.reject(new Error('refused'));
    await turn();
    assert.equal(idle, true);
    assert.equal(work.size, 0);
  });

  it('waits for work added while it waits', async () => {
    const work = new WorkInFlight();
    const [first, second] = [deferred(), deferred()];
    work.add(first.promise);
    let idle = false;
    void work.idle().then(() => (idle = true));
    work.add(second.promise);
    first.resolve();
    await turn();
    assert.equal(idle, false);
    second.resolve();
    await turn();
    assert.equal(idle, true);
  });
});

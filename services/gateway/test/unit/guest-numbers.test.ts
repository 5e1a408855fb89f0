import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GuestNumbers } from '../../src/bus/guest-numbers.js';

/** A shared counter whose raises the test answers: each waits until release(). */
function counter() {
  let value = 0;
  const raises: number[] = [];
  const held: (() => void)[] = [];
  let failNext = false;
  const raise = (by: number) =>
    new Promise<number>((resolve, reject) => {
      raises.push(by);
      held.push(() => {
        if (failNext) {
          failNext = false;
          reject(new Error('redis away'));
          return;
        }
        value += by;
        resolve(value);
      });
    });
  const release = async () => {
    for (let turn = 0; turn < 10; turn++) {
      for (const answer of held.splice(0)) answer();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { raise, raises, release, fail: () => (failNext = true) };
}

describe('GuestNumbers', () => {
  it('answers those asking while a raise is on its way with one raise by how many they are, each its own number', async () => {
    const shared = counter();
    const numbers = new GuestNumbers(shared.raise);
    const asked = Array.from({ length: 6 }, () => numbers.next());
    await shared.release();
    assert.deepEqual(await Promise.all(asked), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(shared.raises, [1, 5], 'the first at once, the five after it together');
  });

  it('refuses the callers of a raise that failed, and raises again for the next', async () => {
    const shared = counter();
    const numbers = new GuestNumbers(shared.raise);
    shared.fail();
    const failed = numbers.next();
    const rejected = assert.rejects(failed, /redis away/);
    await shared.release();
    await rejected;
    const next = numbers.next();
    await shared.release();
    assert.equal(await next, 1);
  });
});

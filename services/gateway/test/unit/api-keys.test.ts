import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiKeys } from '../../src/api/api-keys.js';
import { IdempotentAnswers, isIdempotencyKey, onceKeyOf } from '../../src/api/idempotency.js';

describe('ApiKeys', () => {
  it('accepts a Bearer header with any of the keys (rotation), and nothing else', () => {
    const keys = new ApiKeys(['old-key', 'new-key']);
    assert.equal(keys.accepts('Bearer old-key'), true);
    assert.equal(keys.accepts('bearer new-key'), true);
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      'Bearer new-ke',
      'Bearer new-key2',
      'Basic new-key',
      'new-key',
      'Bearer new-key extra',
    ]) {
      assert.equal(keys.accepts(header), false, String(header));
    }
  });

  it('accepts nothing when there are no keys, not even an empty Bearer', () => {
    const keys = new ApiKeys([]);
    assert.equal(keys.accepts('Bearer '), false);
    assert.equal(keys.accepts('Bearer x'), false);
  });
});

describe('Idempotency-Key', () => {
  it('takes 1 to 255 visible ASCII characters', () => {
    assert.deepEqual(['a', 'order-4711', 'x'.repeat(255), '', 'x'.repeat(256), 'with space', 'é'].map(isIdempotencyKey), [
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });

  it('becomes a once key that does not show the key', () => {
    assert.match(onceKeyOf('order-4711'), /^api:[A-Za-z0-9_-]{43}$/);
    assert.equal(onceKeyOf('order-4711'), onceKeyOf('order-4711'));
    assert.notEqual(onceKeyOf('order-4711'), onceKeyOf('order-4712'));
    assert.ok(!onceKeyOf('order-4711').includes('4711'));
  });

  it('answers a retry within the TTL with the first answer, shares one under way, and forgets a failure and an expired key', async () => {
    let now = 0;
    const answers = new IdempotentAnswers<number>(1_000, 10_000, () => now);
    let calls = 0;
    const work = () => Promise.resolve(++calls);
    const [a, b] = await Promise.all([answers.answer('k', work), answers.answer('k', work)]);
    assert.deepEqual([a, b, calls], [1, 1, 1]);
    now = 999;
    assert.equal(await answers.answer('k', work), 1);
    now = 1_000;
    assert.equal(await answers.answer('k', work), 2, 'expired: asked again');
    await assert.rejects(answers.answer('f', () => Promise.reject(new Error('down'))));
    assert.equal(await answers.answer('f', work), 3, 'a failure is not kept');
  });

  it('keeps at most maxKeys, the oldest going first', async () => {
    const answers = new IdempotentAnswers<string>(60_000, 2, () => 0);
    for (const key of ['a', 'b', 'c']) await answers.answer(key, () => Promise.resolve(key));
    assert.equal(answers.size, 2);
    assert.equal(await answers.answer('a', () => Promise.resolve('again')), 'again');
  });
});

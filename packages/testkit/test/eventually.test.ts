import assert from 'node:assert/strict';
import { afterEach, describe, it, mock } from 'node:test';
import { eventually } from '../src/eventually.js';

/** Let pending callbacks and promise reactions run (setImmediate is not mocked here). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

// A check that returns nothing could never pass, so it does not compile.
// @ts-expect-error a check that only asserts is refused
const _assertsOnly = () => eventually(() => assert.ok(true), { what: 'nothing' });
// @ts-expect-error so is an async one
const _resolvesNothing = () => eventually(async () => assert.ok(await Promise.resolve(true)), { what: 'nothing' });

describe('eventually()', () => {
  afterEach(() => mock.timers.reset());

  it('resolves with the first truthy value, after checks that threw or returned a falsy value', async () => {
    const answers: Array<() => string> = [
      () => {
        throw new Error('not yet');
      },
      () => '',
      () => 'ready',
    ];
    let calls = 0;
    const value = await eventually(() => answers[calls++]!(), { what: 'the third answer', intervalMs: 1 });
    assert.equal(value, 'ready');
    assert.equal(calls, 3);
  });

  it('takes an async check, and passes on its first answer without waiting', async () => {
    let calls = 0;
    const value = await eventually(
      async () => {
        calls++;
        await settle();
        return { count: 2 };
      },
      { what: 'a reading', intervalMs: 60_000 },
    );
    assert.deepEqual(value, { count: 2 });
    assert.equal(calls, 1);
  });

  it('does not call the check again once it has passed', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    let calls = 0;
    const passed = eventually(() => ++calls >= 2 && 'second', { what: 'the second call', intervalMs: 100, timeoutMs: 60_000 });
    await settle();
    assert.equal(calls, 1, 'checked once, then waiting');
    mock.timers.tick(100);
    assert.equal(await passed, 'second');
    for (let i = 0; i < 10; i++) {
      mock.timers.tick(100);
      await settle();
    }
    assert.equal(calls, 2);
  });

  it("rejects after timeoutMs naming what it waited for and the last check's error, kept as the cause", async () => {
    let calls = 0;
    const err = await eventually(
      () => {
        calls++;
        assert.ok(calls === 0, `reading ${calls}`);
        return true;
      },
      { what: 'the counter to be 0', timeoutMs: 20, intervalMs: 1 },
    ).then(
      () => assert.fail('resolved'),
      (e: unknown) => e as Error,
    );
    // How many checks fit in 20 ms depends on the machine (one, when it stalls): the message counts them all.
    assert.ok(calls >= 1);
    const checks = calls === 1 ? '1 check' : `${calls} checks`;
    assert.equal(err.message, `timed out after 20 ms waiting for the counter to be 0 (${checks}); last failure: reading ${calls}`);
    assert.ok(err.cause instanceof assert.AssertionError);
    assert.equal(err.cause.message, `reading ${calls}`);
  });

  it('names the falsy value the last check returned', async () => {
    await assert.rejects(
      eventually(() => 0, { what: 'a count', timeoutMs: 5, intervalMs: 1 }),
      {
        message: /^timed out after 5 ms waiting for a count \((1 check|\d+ checks)\); last failure: the check returned 0$/,
      },
    );
  });

  it('checks once even with no time to wait', async () => {
    let calls = 0;
    await assert.rejects(
      eventually(
        () => {
          calls++;
          return null;
        },
        { what: 'anything', timeoutMs: 0 },
      ),
      { message: 'timed out after 0 ms waiting for anything (1 check); last failure: the check returned null' },
    );
    assert.equal(calls, 1);
  });
});

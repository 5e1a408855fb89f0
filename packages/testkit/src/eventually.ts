import { inspect } from 'node:util';

/** How long eventually() keeps checking unless told, in ms. */
export const EVENTUALLY_TIMEOUT_MS = 10_000;
/** The pause after a failed check unless told, in ms. */
export const EVENTUALLY_INTERVAL_MS = 50;

export interface EventuallyOptions {
  /** What the check waits for, as the timeout's message names it: `every gateway in /cluster.json`. */
  readonly what: string;
  /** How long to keep checking, in ms (default EVENTUALLY_TIMEOUT_MS). The check runs at least once. */
  readonly timeoutMs?: number;
  /** The pause after a failed check, in ms (default EVENTUALLY_INTERVAL_MS). */
  readonly intervalMs?: number;
}

/** What a check passes with: any value but false, 0, '', null and undefined. */
export type Truthy<T> = Exclude<T, false | 0 | 0n | '' | null | undefined>;

/** Refuses, at compile time, a check that returns nothing: it could never pass. */
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- telling a check typed void apart is the point
type ReturnsSomething<T> = [T] extends [void]
  ? { readonly 'a check returns what it read, or true: one that returns nothing never passes': never }
  : unknown;

/**
 * Run `check` until it passes, that is returns (or resolves to) a truthy value
 * without throwing, and resolve with that value; it is not called again after.
 * A check that asserts ends with `return true`, or returns what it read (one
 * that returns nothing could never pass, so it does not compile).
 *
 * For state that no event announces (an HTTP answer, a Redis reply, a file).
 * Where an event can be awaited, wait on it instead: EventLog.waitFor,
 * ChatClient.waitFor, watch().
 *
 * After `timeoutMs` rejects with an Error naming `what` and the last failure
 * (the check's error message, or the value it returned), that error as its
 * cause. A check that hangs is not cut short: bound its own I/O.
 */
export async function eventually<T>(check: () => T | Promise<T>, options: EventuallyOptions & ReturnsSomething<T>): Promise<Truthy<T>> {
  const { what, timeoutMs = EVENTUALLY_TIMEOUT_MS, intervalMs = EVENTUALLY_INTERVAL_MS } = options;
  const deadline = performance.now() + timeoutMs;
  for (let checks = 1; ; checks++) {
    let failure: unknown;
    try {
      const value = await check();
      if (value) return value as Truthy<T>;
      failure = new Error(`the check returned ${inspect(value)}`);
    } catch (err) {
      failure = err;
    }
    if (performance.now() >= deadline) {
      const last = failure instanceof Error ? failure.message : inspect(failure);
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what} (${checks} ${checks === 1 ? 'check' : 'checks'}); last failure: ${last}`,
        { cause: failure },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

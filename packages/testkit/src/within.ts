import { setTimeout as delay } from 'node:timers/promises';

/**
 * `promise`, or a rejection naming `what` after `ms`: a deadline on one awaited
 * thing that no EventLog records (a connect, a close). The timer does not keep
 * the process alive.
 */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    delay(ms, undefined, { ref: false }).then(() => {
      throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    }),
  ]);
}

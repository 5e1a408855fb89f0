import { EventLog } from './event-log.js';

/** Anything with `on(type, listener)` that returns an unsubscribe function, as the SDK's client. */
export interface Subscribable<Events> {
  on<K extends keyof Events>(type: K, listener: (value: Events[K]) => void): () => void;
}

/** Waiting on a typed event source; made by watch(). */
export interface Watcher<Events> {
  /** The next `type` event for which `match` is true; rejects after `timeoutMs`, naming `what`. */
  next<K extends keyof Events>(type: K, match?: (value: Events[K]) => boolean, timeoutMs?: number, what?: string): Promise<Events[K]>;
  /** Every `type` event from now on, in an EventLog, so a test can wait for past or future ones. */
  record<K extends keyof Events>(type: K): EventLog<Events[K]>;
}

/**
 * Tests wait on events, never on sleeps. Name the event map once
 * (`watch<ClientEvents>(client)`) and every wait after it is typed.
 */
export function watch<Events>(source: Subscribable<Events>): Watcher<Events> {
  return {
    next(type, match = () => true, timeoutMs = 10_000, what = `a "${String(type)}" event`) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        const off = source.on(type, (value) => {
          if (!match(value)) return;
          clearTimeout(timer);
          off();
          resolve(value);
        });
      });
    },
    record(type) {
      const log = new EventLog<Events[typeof type]>();
      source.on(type, (value) => log.push(value));
      return log;
    },
  };
}

import { EventLog } from './event-log.js';

/** Anything with `on(type, listener)` that returns an unsubscribe function, as the SDK's client. */
export interface Subscribable<Events> {
  on<K extends keyof Events>(type: K, listener: (value: Events[K]) => void): () => void;
}

/**
 * The next `type` event for which `match` is true. Rejects after `timeoutMs` with a
 * message naming `what`: tests wait on events, never on sleeps.
 */
export function nextEvent<Events, K extends keyof Events>(
  source: Subscribable<Events>,
  type: K,
  match: (value: Events[K]) => boolean = () => true,
  timeoutMs = 5_000,
  what = `a "${String(type)}" event`,
): Promise<Events[K]> {
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
}

/** Every `type` event from now on, in an EventLog, so a test can wait for past or future ones. */
export function recordEvents<Events, K extends keyof Events>(source: Subscribable<Events>, type: K): EventLog<Events[K]> {
  const log = new EventLog<Events[K]>();
  source.on(type, (value) => log.push(value));
  return log;
}

import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';

/**
 * Everything a source has emitted so far, and a way to wait for the first item,
 * past or future, that matches: tests synchronize on events, never on sleeps.
 */
export class EventLog<T> {
  readonly items: T[] = [];
  private waiters: Array<{ match: (item: T) => boolean; settle: (item?: T) => void }> = [];
  private ended = false;

  push(item: T): void {
    this.items.push(item);
    for (const waiter of [...this.waiters]) {
      if (waiter.match(item)) waiter.settle(item);
    }
  }

  /** No more items will come: pending waits fail at once. */
  end(): void {
    this.ended = true;
    for (const waiter of [...this.waiters]) waiter.settle();
  }

  /**
   * The first item at index `from` or later for which `match` is true. Rejects
   * after `timeoutMs`, or when the source ends first, with a message naming `what`.
   */
  waitFor(match: (item: T) => boolean, timeoutMs: number, what: string, from = 0): Promise<T> {
    const seen = this.items.slice(from).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.ended) return Promise.reject(new Error(`ended before ${what}`));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const waiter = {
        match,
        settle: (item?: T) => {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== waiter);
          if (item === undefined) reject(new Error(`ended before ${what}`));
          else resolve(item);
        },
      };
      this.waiters.push(waiter);
    });
  }
}

/** An EventLog of a stream's lines, each passed through `parse` (undefined skips the line). */
export function linesOf<T>(stream: Readable, parse: (line: string) => T | undefined): EventLog<T> {
  const log = new EventLog<T>();
  const rl = createInterface({ input: stream });
  rl.on('line', (text) => {
    const item = parse(text);
    if (item !== undefined) log.push(item);
  });
  rl.on('close', () => log.end());
  return log;
}

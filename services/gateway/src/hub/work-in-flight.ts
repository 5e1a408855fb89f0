/**
 * A member's work under way (its publishes with their session updates, a
 * command that makes its next ones wait), counted, and what waits for none to
 * be left (its leave). Its size does not grow with the member's traffic: a
 * count and the few waiters, never a chain of every promise it ever started.
 */
export class WorkInFlight {
  private count = 0;
  private waiters: (() => void)[] = [];

  /** Count `work` until it settles (fulfilled or rejected). */
  add(work: Promise<unknown>): void {
    this.count += 1;
    const done = () => this.done();
    work.then(done, done);
  }

  /** How many pieces of work are under way. */
  get size(): number {
    return this.count;
  }

  /** Settles once no work is under way: at once when none is, else when the last one settles. */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private done(): void {
    this.count -= 1;
    if (this.count > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

import { RateLimiter } from './rate-limiter.js';

/**
 * Identity on: the message rate of each user on this node, shared by all its
 * connections (tabs, devices), so opening more of them does not multiply what
 * a user may send. Each user's limiter lives while one of its connections does.
 */
export class UserRates {
  private readonly users = new Map<string, { readonly rate: RateLimiter; connections: number }>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
  ) {}

  /** The user's limiter, for one more of its connections (give it back with release()). */
  acquire(user: string): RateLimiter {
    let entry = this.users.get(user);
    if (entry === undefined) {
      entry = { rate: new RateLimiter(this.ratePerSec, this.burst), connections: 0 };
      this.users.set(user, entry);
    }
    entry.connections++;
    return entry.rate;
  }

  /** One of the user's connections has closed. */
  release(user: string): void {
    const entry = this.users.get(user);
    if (entry === undefined) return;
    if (--entry.connections <= 0) this.users.delete(user);
  }

  /** Users with a connection here. */
  get size(): number {
    return this.users.size;
  }
}

import type { ClientCommand } from '@switchboard/protocol';
import { RateLimiter } from './rate-limiter.js';

/** The rates of the commands that cost more than a line, per connection (see the README's settings). */
export interface CommandRateLimits {
  /** Sustained joins per second (JOIN_RATE_PER_SEC). */
  readonly joinRatePerSec: number;
  /** Joins at once before the rate applies (JOIN_BURST). */
  readonly joinBurst: number;
  /** Sustained `/who` and `/rooms` per second, together (PRESENCE_QUERY_RATE_PER_SEC). */
  readonly presenceQueryRatePerSec: number;
  /** Presence questions at once before their rate applies (PRESENCE_QUERY_BURST). */
  readonly presenceQueryBurst: number;
}

/** Which of a connection's command rates a command is held to, if any. */
export type CommandRate = 'join' | 'presence';

/**
 * One connection's rates for the commands that cost the cluster more than a
 * chat line: a join (a session script, two notices, the new room's recent
 * lines) and a presence question (`/who`, `/rooms`: a read of the shared
 * presence). Each has a token bucket of its own, made the first time the
 * connection uses it: a connection that never joins or asks holds none.
 * These rates come on top of the frame rate, which every frame pays first.
 */
export class CommandRates {
  private join: RateLimiter | undefined;
  private presence: RateLimiter | undefined;

  constructor(
    private readonly limits: CommandRateLimits,
    /** The limiters' clock, in ms (a test's own; performance.now() by default). */
    private readonly now?: () => number,
  ) {}

  /** The rate `command` is held to, or undefined for a line or a rename (the frame rate is theirs). */
  static rateOf(command: ClientCommand): CommandRate | undefined {
    switch (command.type) {
      case 'join':
        return 'join';
      case 'who':
      case 'rooms':
        return 'presence';
      default:
        return undefined;
    }
  }

  /** Take one of `rate`'s tokens: 0 when taken (the command may run), else how long until one is there, in ms. */
  take(rate: CommandRate): number {
    const limiter = this.limiter(rate);
    return limiter.take() ? 0 : Math.max(1, limiter.waitMs());
  }

  private limiter(rate: CommandRate): RateLimiter {
    const { limits } = this;
    if (rate === 'join') return (this.join ??= new RateLimiter(limits.joinRatePerSec, limits.joinBurst, this.now));
    return (this.presence ??= new RateLimiter(limits.presenceQueryRatePerSec, limits.presenceQueryBurst, this.now));
  }
}

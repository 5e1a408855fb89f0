/** How the client waits between reconnect attempts. Every field has a default. */
export interface ReconnectOptions {
  /** Delay before the first retry, in ms. Default 500. */
  readonly initialDelayMs: number;
  /** Longest delay between two attempts, in ms. Default 10000. */
  readonly maxDelayMs: number;
  /** Growth of the delay per failed attempt. Default 2. */
  readonly factor: number;
  /**
   * Share of each delay that is random, from 0 (none) to 1. Default 0.5: a delay is
   * between half and all of its backoff, so clients dropped together spread out.
   */
  readonly jitter: number;
  /** Failed attempts in a row before the client gives up and closes. Default Infinity. */
  readonly maxAttempts: number;
}

export const DEFAULT_RECONNECT: ReconnectOptions = {
  initialDelayMs: 500,
  maxDelayMs: 10_000,
  factor: 2,
  jitter: 0.5,
  maxAttempts: Number.POSITIVE_INFINITY,
};

/** Defaults first, then each value checked; throws RangeError naming the bad one. */
export function resolveReconnectOptions(options: Partial<ReconnectOptions> = {}): ReconnectOptions {
  const resolved = { ...DEFAULT_RECONNECT, ...options };
  const { initialDelayMs, maxDelayMs, factor, jitter, maxAttempts } = resolved;
  if (!(Number.isFinite(initialDelayMs) && initialDelayMs >= 0)) {
    throw new RangeError(`reconnect.initialDelayMs must be a finite number >= 0, got ${initialDelayMs}`);
  }
  if (!(Number.isFinite(maxDelayMs) && maxDelayMs >= initialDelayMs)) {
    throw new RangeError(`reconnect.maxDelayMs must be a finite number >= initialDelayMs (${initialDelayMs}), got ${maxDelayMs}`);
  }
  if (!(Number.isFinite(factor) && factor >= 1)) {
    throw new RangeError(`reconnect.factor must be a finite number >= 1, got ${factor}`);
  }
  if (!(jitter >= 0 && jitter <= 1)) {
    throw new RangeError(`reconnect.jitter must be between 0 and 1, got ${jitter}`);
  }
  if (!(maxAttempts >= 0 && (Number.isInteger(maxAttempts) || maxAttempts === Number.POSITIVE_INFINITY))) {
    throw new RangeError(`reconnect.maxAttempts must be a whole number >= 0 or Infinity, got ${maxAttempts}`);
  }
  return resolved;
}

/**
 * The wait before retry number `attempt` (0 for the first), in ms: exponential,
 * capped at maxDelayMs, then shortened by a random share of at most `jitter`.
 */
export function backoffDelay(attempt: number, options: ReconnectOptions, random: () => number = Math.random): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** attempt);
  return Math.round(base * (1 - options.jitter * random()));
}

/** How many connections a node and one address may hold, and how fast an address may open them. */
export interface AdmissionLimits {
  /** Connections this node holds at most (open, and upgrades in progress). */
  readonly maxConnections: number;
  /** Connections one address (an IPv6 /64) holds at most on this node. */
  readonly maxConnectionsPerIp: number;
  /** New connections per second one address may open, sustained. */
  readonly connectionRatePerIp: number;
  /** New connections one address may open at once before the rate applies. */
  readonly connectionBurstPerIp: number;
}

/** Why a connection was not admitted. */
export type LimitExceeded = 'node-full' | 'address-full' | 'address-rate';

/**
 * Addresses whose connection rate is remembered at most. An address's entry is
 * forgotten once its bucket has refilled (burst / rate seconds after its last
 * connection), so only a flood of this many distinct addresses within that time
 * fills the table; then the least recently seen is forgotten first (it gets a
 * fresh burst: the table fails open, and MAX_CONNECTIONS still holds).
 */
export const MAX_TRACKED_ADDRESSES = 65_536;

/** A connection-rate bucket: tokens left when last seen, and when (ms). */
interface Bucket {
  tokens: number;
  last: number;
}

/**
 * Admission counts for one node: connections held in all and per address, and a
 * token bucket per address for the rate of new ones. Memory stays bounded: the
 * per-address counts by MAX_CONNECTIONS (an address holding none is deleted),
 * the buckets by MAX_TRACKED_ADDRESSES (see there). O(1) per admission.
 */
export class ConnectionLimiter {
  private total = 0;
  private readonly open = new Map<string, number>();
  /** Least recently seen first: Map keeps insertion order, and a bucket is re-inserted when used. */
  private readonly buckets = new Map<string, Bucket>();
  /** How long an untouched bucket takes to refill completely, ms. */
  private readonly refillMs: number;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly now: () => number = () => performance.now(),
    private readonly maxTracked = MAX_TRACKED_ADDRESSES,
  ) {
    this.refillMs = (limits.connectionBurstPerIp / limits.connectionRatePerIp) * 1000;
  }

  /**
   * Admit a connection from `key` (see addressKey), or say which limit it passes.
   * An admitted connection counts until release(key) is called once for it.
   */
  admit(key: string): LimitExceeded | undefined {
    if (this.total >= this.limits.maxConnections) return 'node-full';
    const held = this.open.get(key) ?? 0;
    if (held >= this.limits.maxConnectionsPerIp) return 'address-full';
    if (!this.takeToken(key)) return 'address-rate';
    this.total++;
    this.open.set(key, held + 1);
    return undefined;
  }

  /** A connection admitted for `key` has ended. */
  release(key: string): void {
    const held = this.open.get(key);
    if (held === undefined) return;
    this.total--;
    if (held <= 1) this.open.delete(key);
    else this.open.set(key, held - 1);
  }

  /** Connections held now (open, and upgrades in progress). */
  get size(): number {
    return this.total;
  }

  /** Addresses whose rate is remembered now. */
  get trackedAddresses(): number {
    return this.buckets.size;
  }

  private takeToken(key: string): boolean {
    const t = this.now();
    this.forgetIdle(t);
    const { connectionRatePerIp: rate, connectionBurstPerIp: burst } = this.limits;
    const bucket = this.buckets.get(key);
    let tokens = burst;
    if (bucket) {
      tokens = Math.min(burst, bucket.tokens + ((t - bucket.last) * rate) / 1000);
      this.buckets.delete(key);
    } else if (this.buckets.size >= this.maxTracked) {
      this.buckets.delete(this.buckets.keys().next().value!);
    }
    const taken = tokens >= 1;
    this.buckets.set(key, { tokens: taken ? tokens - 1 : tokens, last: t });
    return taken;
  }

  /**
   * Forget buckets that have refilled since they were last used: they hold
   * nothing a fresh bucket would not. The least recently used come first, so
   * the idle ones are a prefix of the table.
   */
  private forgetIdle(t: number): void {
    for (const [key, bucket] of this.buckets) {
      if (t - bucket.last < this.refillMs) return;
      this.buckets.delete(key);
    }
  }
}

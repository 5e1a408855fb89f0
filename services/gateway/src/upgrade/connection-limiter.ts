/** How many connections a node and one address may hold, and how fast an address may open them. */
export interface AdmissionLimits {
  /** Connections this node holds at most (open, and upgrades in progress). */
  readonly maxConnections: number;
  /** Connections one address (an IPv6 /64) holds at most on this node, its held sessions included (see ConnectionLimiter). */
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
 * A v2 session whose connection dropped on this node and that waits for a
 * resume: it counts against its address's cap until it is resumed, ends, or
 * its hold runs out.
 */
export interface HeldSession {
  readonly token: string;
  /** The connection whose drop left it waiting (the one to name when ending it). */
  readonly conn: string;
}

/** What admit() decided: admitted (ending `ended`, the held sessions that made room), or refused past a limit. */
export type AdmitResult =
  { readonly ok: true; readonly ended: readonly HeldSession[] } | { readonly ok: false; readonly limit: LimitExceeded };

/** A held session as counted: its address, and until when (limiter time, ms). */
interface Hold extends HeldSession {
  readonly key: string;
  readonly until: number;
}

/** What one address holds on this node: open connections, and held sessions by token, oldest first. */
interface AddressCount {
  open: number;
  readonly held: Map<string, Hold>;
}

/**
 * Admission counts for one node: connections held in all and per address, the
 * sessions each address left waiting for a resume, and a token bucket per
 * address for the rate of new ones. An address's open connections and held
 * sessions together stay within its cap: at the cap, a new connection ends the
 * address's oldest held session instead of being refused (only an address with
 * none held is refused). Memory stays bounded: the per-address counts by
 * MAX_CONNECTIONS and the cap (an address holding nothing is deleted), every
 * hold is forgotten once it runs out (at most its grace after it began), the
 * buckets by MAX_TRACKED_ADDRESSES (see there). O(1) per admission, O(cap) at
 * the cap.
 */
export class ConnectionLimiter {
  private total = 0;
  private readonly addresses = new Map<string, AddressCount>();
  /** Every hold, oldest first (by when it began), by token. */
  private readonly holds = new Map<string, Hold>();
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
   * Admit a connection from `key` (see addressKey), or say which limit it
   * passes. An admitted connection counts until release(key) is called once for
   * it. At the address's cap, its oldest held sessions stop counting to make
   * room: the caller ends them (`ended`). A refused upgrade ends nothing.
   */
  admit(key: string): AdmitResult {
    const t = this.now();
    this.forgetHolds(t);
    if (this.total >= this.limits.maxConnections) return { ok: false, limit: 'node-full' };
    const count = this.addresses.get(key);
    if ((count?.open ?? 0) >= this.limits.maxConnectionsPerIp) return { ok: false, limit: 'address-full' };
    if (!this.takeToken(key, t)) return { ok: false, limit: 'address-rate' };
    const ended = count ? this.makeRoom(count, this.limits.maxConnectionsPerIp - 1, t) : [];
    this.total++;
    // Looked up again: making room may have forgotten the address.
    const current = this.addresses.get(key);
    if (current) current.open++;
    else this.addresses.set(key, { open: 1, held: new Map() });
    return { ok: true, ended };
  }

  /** A connection admitted for `key` has ended. */
  release(key: string): void {
    const count = this.addresses.get(key);
    if (count === undefined || count.open === 0) return;
    this.total--;
    count.open--;
    this.forgetIfEmpty(key, count);
  }

  /**
   * A session whose connection from `key` dropped waits for a resume for
   * `forMs`: it counts against the address's cap until then, or until
   * unhold(). If that puts the address past its cap, its oldest held sessions
   * (this one, if it is the only one) stop counting: the caller ends them.
   */
  hold(key: string, session: HeldSession, forMs: number): readonly HeldSession[] {
    const t = this.now();
    this.forgetHolds(t);
    this.unhold(session.token);
    if (!(forMs > 0)) return [];
    let count = this.addresses.get(key);
    if (!count) {
      count = { open: 0, held: new Map() };
      this.addresses.set(key, count);
    }
    const hold: Hold = { token: session.token, conn: session.conn, key, until: t + forMs };
    this.holds.set(hold.token, hold);
    count.held.set(hold.token, hold);
    return this.makeRoom(count, this.limits.maxConnectionsPerIp, t);
  }

  /** The session no longer waits here (resumed, here or on another node, or ended): it stops counting. */
  unhold(token: string): void {
    const hold = this.holds.get(token);
    if (hold) this.drop(hold);
  }

  /** Held sessions counted now (some may have run out and not been looked at yet). */
  get held(): number {
    return this.holds.size;
  }

  /** Held sessions counted for `key`, as of now. */
  heldBy(key: string): number {
    const count = this.addresses.get(key);
    if (!count) return 0;
    this.forgetRunOut(count, this.now());
    return count.held.size;
  }

  /** Connections held now (open, and upgrades in progress). */
  get size(): number {
    return this.total;
  }

  /** Addresses whose rate is remembered now. */
  get trackedAddresses(): number {
    return this.buckets.size;
  }

  private takeToken(key: string, t: number): boolean {
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
   * End the address's oldest held sessions until its open connections and held
   * sessions are at most `max` (those that ran out go first, ended by nobody).
   * Returns the ones to end.
   */
  private makeRoom(count: AddressCount, max: number, t: number): HeldSession[] {
    if (count.open + count.held.size <= max) return [];
    this.forgetRunOut(count, t);
    const ended: HeldSession[] = [];
    for (const hold of count.held.values()) {
      if (count.open + count.held.size <= max) break;
      this.drop(hold);
      ended.push({ token: hold.token, conn: hold.conn });
    }
    return ended;
  }

  /** Forget the address's holds that have run out. */
  private forgetRunOut(count: AddressCount, t: number): void {
    for (const hold of count.held.values()) if (hold.until <= t) this.drop(hold);
  }

  /**
   * Forget the oldest holds once they have run out. Holds may run out out of
   * order (one's grace can be shorter than an older one's), so one can outlive
   * its end here until those before it are gone, never more than a grace
   * (forgetRunOut counts an address exactly when it matters).
   */
  private forgetHolds(t: number): void {
    for (const hold of this.holds.values()) {
      if (hold.until > t) return;
      this.drop(hold);
    }
  }

  private drop(hold: Hold): void {
    this.holds.delete(hold.token);
    const count = this.addresses.get(hold.key);
    if (!count) return;
    count.held.delete(hold.token);
    this.forgetIfEmpty(hold.key, count);
  }

  private forgetIfEmpty(key: string, count: AddressCount): void {
    if (count.open === 0 && count.held.size === 0) this.addresses.delete(key);
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

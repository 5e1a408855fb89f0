/** Something the heartbeat looks after: pinged now and then, dropped when silent too long. */
export interface Beating {
  /** Called on every beat with the current time (ms): ping if due, drop if silent past its deadline. */
  beat(now: number): void;
}

/** The longest pause between beats, in ms: a ping or a deadline is late by at most this. */
const MAX_BEAT_MS = 1_000;

/**
 * One timer for every connection of the node (a wheel, not a timer per socket):
 * each beat visits every connection, which pings when its ping is due and drops
 * itself when its deadlines have passed.
 */
export class Heartbeat {
  private readonly members = new Set<Beating>();
  private readonly beatMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** How often each connection is pinged, in ms (the beat is at least this often). */
    pingIntervalMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.beatMs = Math.max(10, Math.min(MAX_BEAT_MS, Math.floor(pingIntervalMs / 2)));
  }

  add(member: Beating): void {
    this.members.add(member);
    if (this.timer) return;
    this.timer = setInterval(() => this.beat(), this.beatMs);
    this.timer.unref();
  }

  delete(member: Beating): void {
    this.members.delete(member);
    if (this.members.size > 0 || !this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private beat(): void {
    const now = this.now();
    for (const member of this.members) member.beat(now);
  }
}

/** Something the heartbeat looks after: pinged now and then, dropped when silent too long. */
export interface Beating {
  /** Called on every beat with the heartbeat's time (ms, see Heartbeat.now): ping if due, drop if silent past its deadline. */
  beat(now: number): void;
}

/** The longest pause between beats, in ms: a ping or a deadline is late by at most this. */
const MAX_BEAT_MS = 1_000;

/**
 * One timer for every connection of the node (a wheel, not a timer per socket):
 * each beat visits every connection, which pings when its ping is due and drops
 * itself when its deadlines have passed.
 *
 * A slow node is not a dead client. Deadlines are kept on the heartbeat's own
 * clock (now()), which stops while the event loop is late: when a beat comes
 * later than its interval, the time it was late is taken off the clock, so every
 * deadline moves back by as much. A client cannot have been seen to answer while
 * the node was not reading (and libuv runs an expired timer before it reads the
 * pong already waiting in the socket), so that time never counts against it.
 */
export class Heartbeat {
  private readonly members = new Set<Beating>();
  private readonly beatMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** When the last beat ran (wall clock, ms). */
  private lastBeat = 0;
  /** Time the beats have been late in all, ms: what now() leaves out. */
  private lateMs = 0;

  constructor(
    /** How often each connection is pinged, in ms (the beat is at least this often). */
    pingIntervalMs: number,
    private readonly clock: () => number = monotonicNow,
  ) {
    this.beatMs = Math.max(10, Math.min(MAX_BEAT_MS, Math.floor(pingIntervalMs / 2)));
  }

  /** The heartbeat's time, ms: the wall clock without the time its beats were late. Deadlines are measured in it. */
  now(): number {
    return this.clock() - this.lateMs;
  }

  /** Time the beats have been late in all (event loop lag that no deadline counts), ms. */
  get lagMs(): number {
    return this.lateMs;
  }

  add(member: Beating): void {
    this.members.add(member);
    if (this.timer) return;
    this.lastBeat = this.clock();
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
    const wall = this.clock();
    this.lateMs += Math.max(0, wall - this.lastBeat - this.beatMs);
    this.lastBeat = wall;
    const now = this.now();
    for (const member of this.members) member.beat(now);
  }
}

function monotonicNow(): number {
  return performance.now();
}

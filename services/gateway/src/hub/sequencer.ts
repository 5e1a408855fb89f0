import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { advance, type BroadcastEvent, type Epoch, type EventDraft, type Position, type RoomName, type Seq } from '@switchboard/protocol';
import type { Bus } from '../bus/bus.js';
import type { Logger } from '../logger.js';
import { noMetrics, type Metrics } from '../metrics/metrics.js';

/** Repair attempts in a row before giving up on a gap until the next event or reconnect. */
const MAX_REPAIR_ROUNDS = 5;
/**
 * Events read from the history and passed on at once while catching up; the
 * event loop gets a turn between pages, so a long gap (a subscription Redis
 * dropped under load) never stalls the node.
 */
const REPAIR_PAGE_EVENTS = 500;
/** Events whose identity a room's sequencer remembers (the last ones passed on), to tell a rewind from a duplicate. */
export const REMEMBERED_EVENTS = 256;

/**
 * What makes an event the one it is, whatever its place: its type, sender, time,
 * ref and text, hashed (FNV-1a, 32 bits). Two events at one place with different
 * identities mean the history went back in time and numbered anew.
 */
export function eventIdentity(event: BroadcastEvent | EventDraft): number {
  let hash = 0x811c9dc5;
  const text = `${event.type}\n${event.id}\n${event.time}\n${event.ref ?? ''}\n${event.message}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * Turns what the bus delivers of one room into a contiguous sequence for this node: events
 * pass on in `seq` order with no gap and no duplicate. When an event arrives
 * ahead of its turn (the subscription dropped, or Redis delivered a later event
 * first), it waits while the missing ones are read from the bus's history.
 * resync() does the same after a reconnect, when events may have been missed
 * with nothing newer yet to show it.
 *
 * A rewind is noticed at once: Redis may go back in time within an epoch (a
 * failover to a replica that lacked the newest writes) and number new events
 * from an older seq. The sequencer remembers the identity of the last
 * REMEMBERED_EVENTS events it passed on; a different event at a seq already
 * passed (delivered, or read from the history: each repair reads the event at
 * its position again to check it), or a history whose head is behind its
 * position, starts a new epoch (Bus.renewEpoch, which keeps the history). The
 * sequencer then stands at the last seq where the history and what it passed on
 * agree, and passes on what follows, in the new epoch: its members get every
 * event they had not had, and none twice. An event of another epoch is not taken
 * on trust (it may be a late one of an older epoch): the history says where the
 * room stands.
 */
export class Sequencer {
  private epoch: Epoch | undefined;
  private last: Seq = 0;
  private readonly waiting = new Map<Seq, BroadcastEvent>();
  /** The identities of the last events passed on, by seq (at most REMEMBERED_EVENTS, oldest first). */
  private readonly passed = new Map<Seq, number>();
  /** An event of another epoch arrived: the repair finds where the room stands now. */
  private moved = false;
  /** A rewind was seen at this seq (a different event than the one passed on there): the repair starts a new epoch. */
  private rewoundAt: Seq | undefined;
  private repairing = false;
  private readonly log: Logger;

  constructor(
    private readonly room: RoomName,
    private readonly bus: Bus,
    private readonly deliver: (event: BroadcastEvent) => void,
    logger: Logger,
    private readonly metrics: Metrics = noMetrics,
  ) {
    this.log = logger.child({ module: 'sequencer', room });
  }

  /** The last event passed on, or undefined before the first. */
  position(): Position | undefined {
    return this.epoch === undefined ? undefined : { epoch: this.epoch, seq: this.last };
  }

  /** Start from the bus's current head (no event before it concerns this node's clients). */
  async init(): Promise<void> {
    if (this.epoch !== undefined) return;
    const head = await this.bus.head(this.room);
    // An event may have set the position while head() was on its way: then it stands.
    if (this.position() !== undefined) return;
    this.epoch = head.epoch;
    this.last = head.seq;
  }

  onEvent(event: BroadcastEvent): void {
    if (this.epoch === undefined) {
      // Before init() has an answer, the first event is taken as the next one.
      this.epoch = event.epoch;
      this.last = event.seq - 1;
    }
    const step = advance(this.position(), event);
    if (step.kind === 'epoch') {
      // Another epoch: the history says where the room stands now (and whether it kept what was passed on).
      this.moved = true;
      void this.repair();
      return;
    }
    if (step.kind === 'duplicate') {
      const passed = this.passed.get(event.seq);
      if (passed !== undefined && passed !== eventIdentity(event)) this.rewound(event.seq);
      return;
    }
    if (step.kind === 'next' && !this.repairing) {
      this.pass(event);
      return;
    }
    this.waiting.set(event.seq, event);
    void this.repair();
  }

  /**
   * The bus placed an event of this node's at `position`. At or below where this
   * node stands in the same epoch, it must be the event passed on there (its echo
   * came first); if another was passed there, the history went back in time and
   * numbered it anew: its echo would be dropped as a duplicate, so it is not
   * waited for. (One older than those remembered is not judged.)
   */
  placed(draft: EventDraft, position: Position): void {
    if (position.epoch !== this.epoch || position.seq > this.last) return;
    const passed = this.passed.get(position.seq);
    if (passed !== undefined && passed !== eventIdentity(draft)) this.rewound(position.seq);
  }

  /** After a reconnect: fetch whatever was published while this node was not listening. */
  resync(): void {
    void this.repair();
  }

  /** A different event at `seq`, already passed on: the history went back in time. */
  private rewound(seq: Seq): void {
    if (this.rewoundAt === undefined || seq < this.rewoundAt) this.rewoundAt = seq;
    this.log.error({ seq, last: this.last }, 'another event at a seq already passed on: the history went back in time');
    void this.repair();
  }

  private async repair(): Promise<void> {
    if (this.repairing || this.epoch === undefined) return;
    this.repairing = true;
    try {
      for (let round = 0; round < MAX_REPAIR_ROUNDS; round++) {
        if (this.rewoundAt !== undefined || this.moved) {
          await this.realign();
          continue;
        }
        const from = this.last;
        // The event at the position is read again (when its identity is known): a history that numbered anew shows here.
        const check = this.passed.has(this.last) && this.last > 0;
        // What this node heard live was published, so it may be read even where the mark of that did not survive a failover.
        const heard = this.newestWaiting();
        let result = await this.bus.historyPage(
          this.room,
          { epoch: this.epoch, seq: check ? this.last - 1 : this.last },
          REPAIR_PAGE_EVENTS,
          heard,
        );
        if (check && !result.ok && result.reason === 'history trimmed') {
          // The event at the position was trimmed, not necessarily the ones after it: read those alone.
          result = await this.bus.historyPage(this.room, { epoch: this.epoch, seq: this.last }, REPAIR_PAGE_EVENTS, heard);
        }
        if (result.ok) {
          if (result.since.epoch !== this.epoch) {
            this.moved = true; // an earlier epoch's position, answered from the new one: realign.
            continue;
          }
          for (const event of result.events) {
            if (event.seq <= this.last) {
              const passed = this.passed.get(event.seq);
              if (passed !== undefined && passed !== eventIdentity(event)) this.rewoundAt = Math.min(this.rewoundAt ?? Infinity, event.seq);
              continue;
            }
            if (this.rewoundAt !== undefined) break;
            if (advance(this.position(), event).kind === 'next') this.pass(event);
          }
          if (this.rewoundAt !== undefined) {
            this.log.error(
              { seq: this.rewoundAt, last: this.last },
              'the history holds another event at a seq already passed on: it went back in time',
            );
            continue;
          }
        } else if (result.reason === 'epoch changed') {
          this.startEpoch(result.head.epoch);
          continue;
        } else if (result.reason === 'position is ahead of the history') {
          // Redis went back in time within one epoch (it lost its newest writes: a crash
          // before the append-only file was synced, a failover to a lagging replica).
          // Numbers after its head would be reused for new events: start a new epoch.
          this.log.error({ last: this.last, head: result.head.seq }, 'history went back in time: its head is behind this node');
          this.rewoundAt = result.head.seq + 1;
          continue;
        } else {
          this.skipTo(result.head.seq, `gap cannot be repaired: ${result.reason}`);
        }
        this.flushWaiting();
        if (this.waiting.size > 0 && this.last === from && this.newestWaiting() > heard) {
          // Heard live while the page was read: the history was asked to show only up to what was heard then
          // (a promoted replica may lack the mark of a later release). Ask again with what was heard since.
          continue;
        }
        if (this.waiting.size > 0 && this.last === from) {
          // The history answered but lacks the next event: a hole. Waiting longer cannot help.
          this.skipTo(this.oldestWaiting() - 1, 'the history has a hole');
          this.flushWaiting();
        }
        if (this.last > from) this.log.info({ from, to: this.last }, 'gap repaired from history');
        if (this.last > from) this.metrics.gapRepaired();
        if (result.ok && result.events.length === REPAIR_PAGE_EVENTS && this.last < result.head.seq) {
          round--; // a full page: more to read, not a failed round
          await setImmediatePromise();
          continue;
        }
        if (this.waiting.size === 0) return;
      }
    } catch (err) {
      // The bus is away; resync() runs again when it is back.
      this.log.warn({ err: (err as Error).message, since: this.last }, 'gap repair postponed: bus unavailable');
    } finally {
      this.repairing = false;
    }
  }

  /**
   * After a rewind (rewoundAt) or on news of another epoch (moved): start a new
   * epoch if the history went back in time in this one (it keeps what survived),
   * then stand at the last seq where the history and what this node passed on
   * agree, in the room's current epoch. What follows is passed on by the repair.
   */
  private async realign(): Promise<void> {
    const stale = this.epoch!;
    // The oldest event remembered, read again: compared with what was passed on from there.
    const floor = Math.max(0, Math.min(this.last, this.oldestPassed() - 1));
    if (this.rewoundAt !== undefined) {
      const agreed = await this.agreedUpTo(stale, floor);
      const head = await this.bus.renewEpoch(this.room, stale, agreed ?? Math.min(floor, this.rewoundAt - 1));
      this.log.error(
        { from: stale, to: head.epoch, agreed, last: this.last },
        'history went back in time: new epoch, keeping what survived',
      );
    }
    this.rewoundAt = undefined;
    this.moved = false;
    const page = await this.bus.historyPage(this.room, { epoch: stale, seq: floor }, REMEMBERED_EVENTS + 1);
    if (!page.ok) {
      if (page.reason === 'position is ahead of the history') {
        // Behind us in our own epoch, and nothing kept: a rewind all the same.
        this.rewoundAt = page.head.seq + 1;
        return;
      }
      if (page.head.epoch !== stale) this.startEpoch(page.head.epoch);
      return;
    }
    const agreed = this.agreement(page.since.seq, page.events);
    if (page.since.epoch === stale && agreed >= Math.min(this.last, page.head.seq)) return; // nothing went back: carry on
    if (page.since.epoch === stale) {
      // Our own epoch disagrees with what was passed on, but no new one yet: the next round renews it.
      this.rewoundAt = agreed + 1;
      return;
    }
    this.log.warn({ from: stale, to: page.since.epoch, agreed, last: this.last }, 'history epoch changed: it kept what survived');
    this.epoch = page.since.epoch;
    this.last = agreed;
    this.waiting.clear();
    for (const seq of [...this.passed.keys()]) if (seq > agreed) this.passed.delete(seq);
  }

  /** The last seq from `floor` on where `epoch`'s history holds what was passed on (undefined if it cannot be read). */
  private async agreedUpTo(epoch: Epoch, floor: Seq): Promise<Seq | undefined> {
    const page = await this.bus.historyPage(this.room, { epoch, seq: floor }, REMEMBERED_EVENTS + 1);
    if (!page.ok || page.since.epoch !== epoch) return undefined;
    return this.agreement(floor, page.events);
  }

  /**
   * The last seq, from `since` on, up to which `events` (read from the history)
   * are what this node passed on. One older than those remembered is taken to agree.
   */
  private agreement(since: Seq, events: readonly BroadcastEvent[]): Seq {
    let agreed = since;
    for (const event of events) {
      const passed = this.passed.get(event.seq);
      if (event.seq > this.last || (passed !== undefined && passed !== eventIdentity(event))) break;
      agreed = event.seq;
    }
    return agreed;
  }

  private oldestPassed(): Seq {
    for (const seq of this.passed.keys()) return seq;
    return this.last + 1;
  }

  private startEpoch(epoch: Epoch): void {
    this.log.warn({ from: this.epoch, to: epoch }, 'history epoch changed: the old history is gone');
    this.epoch = epoch;
    this.last = 0;
    this.waiting.clear();
    this.passed.clear();
  }

  /** Give up on events up to `seq` (logged as lost), but never past one that is waiting. */
  private skipTo(seq: Seq, reason: string): void {
    const target = Math.min(seq, this.oldestWaiting() - 1);
    if (target <= this.last) return;
    this.log.error({ lost: { from: this.last + 1, to: target }, reason }, 'events lost');
    this.metrics.eventsLost(target - this.last);
    this.last = target;
  }

  /** The newest seq heard live and waiting for the ones before it (0: none). */
  private newestWaiting(): Seq {
    let newest = 0;
    for (const seq of this.waiting.keys()) if (seq > newest) newest = seq;
    return newest;
  }

  private oldestWaiting(): Seq {
    let oldest = Infinity;
    for (const seq of this.waiting.keys()) if (seq < oldest) oldest = seq;
    return oldest;
  }

  private flushWaiting(): void {
    for (const seq of [...this.waiting.keys()].sort((a, b) => a - b)) {
      if (seq <= this.last) this.waiting.delete(seq);
    }
    let next = this.waiting.get(this.last + 1);
    while (next) {
      this.waiting.delete(next.seq);
      this.pass(next);
      next = this.waiting.get(this.last + 1);
    }
  }

  private pass(event: BroadcastEvent): void {
    this.last = event.seq;
    this.passed.set(event.seq, eventIdentity(event));
    if (this.passed.size > REMEMBERED_EVENTS) this.passed.delete(this.oldestPassed());
    this.deliver(event);
  }
}

import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { advance, type BroadcastEvent, type Epoch, type Position, type RoomName, type Seq } from '@switchboard/protocol';
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

/**
 * Turns what the bus delivers of one room into a contiguous sequence for this node: events
 * pass on in `seq` order with no gap and no duplicate. When an event arrives
 * ahead of its turn (the subscription dropped, or Redis delivered a later event
 * first), it waits while the missing ones are read from the bus's history.
 * resync() does the same after a reconnect, when events may have been missed
 * with nothing newer yet to show it.
 */
export class Sequencer {
  private epoch: Epoch | undefined;
  private last: Seq = 0;
  private readonly waiting = new Map<Seq, BroadcastEvent>();
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
    let step = advance(this.position(), event);
    if (step.kind === 'epoch') {
      this.startEpoch(event.epoch);
      step = advance(this.position(), event);
    }
    if (step.kind === 'duplicate') return;
    if (step.kind === 'next' && !this.repairing) {
      this.pass(event);
      return;
    }
    this.waiting.set(event.seq, event);
    void this.repair();
  }

  /** After a reconnect: fetch whatever was published while this node was not listening. */
  resync(): void {
    void this.repair();
  }

  private async repair(): Promise<void> {
    if (this.repairing || this.epoch === undefined) return;
    this.repairing = true;
    try {
      for (let round = 0; round < MAX_REPAIR_ROUNDS; round++) {
        const from = this.last;
        const result = await this.bus.historyPage(this.room, { epoch: this.epoch, seq: this.last }, REPAIR_PAGE_EVENTS);
        if (result.ok) {
          for (const event of result.events) if (advance(this.position(), event).kind === 'next') this.pass(event);
        } else if (result.reason === 'epoch changed') {
          this.startEpoch(result.head.epoch);
          continue;
        } else if (result.reason === 'position is ahead of the history') {
          // Redis went back in time within one epoch (it lost its newest writes: a crash
          // before the append-only file was synced, a failover to a lagging replica).
          // Numbers after its head would be reused for new events: start a new epoch.
          const head = await this.bus.renewEpoch(this.room, this.epoch);
          this.log.error({ last: this.last, head: result.head.seq, epoch: head.epoch }, 'history went back in time: new epoch');
          this.startEpoch(head.epoch);
          continue;
        } else {
          this.skipTo(result.head.seq, `gap cannot be repaired: ${result.reason}`);
        }
        this.flushWaiting();
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

  private startEpoch(epoch: Epoch): void {
    this.log.warn({ from: this.epoch, to: epoch }, 'history epoch changed: the old history is gone');
    this.epoch = epoch;
    this.last = 0;
    this.waiting.clear();
  }

  /** Give up on events up to `seq` (logged as lost), but never past one that is waiting. */
  private skipTo(seq: Seq, reason: string): void {
    const target = Math.min(seq, this.oldestWaiting() - 1);
    if (target <= this.last) return;
    this.log.error({ lost: { from: this.last + 1, to: target }, reason }, 'events lost');
    this.metrics.eventsLost(target - this.last);
    this.last = target;
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
    this.deliver(event);
  }
}

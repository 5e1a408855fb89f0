import { textFrame } from '../platform/ws-frames.js';
import { wireOf } from './text-frame.js';
import type { PausableReads } from '../bus/bus.js';
import type { Outgoing } from '../hub/peer.js';

/** Something with frames queued during this turn of the event loop. */
export interface Flushable {
  flush(batches: BatchCache): void;
}

/**
 * Writes coalesced: a connection that gets frames queues them and asks to be
 * flushed; then every such connection writes all it has at once, so a burst
 * costs one write (one system call) per socket, not one per event. When the node
 * is quiet, that happens on the next turn of the event loop (setImmediate, after
 * the I/O that brought the events in): no delay. A busy node (one that flushed
 * within the last two intervals) rests for `intervalMs` after a flush: what is
 * queued meanwhile goes out when the rest ends, so each event waits at most that
 * long, and a socket is written at most every `intervalMs` however many events
 * there are. A quiet node never rests: a lone line crosses it with no delay.
 *
 * While it rests, the bus's reading is paused (`reads`, see PausableReads): events
 * that arrive meanwhile wait in the kernel instead of waking the process one by
 * one, and are read as the rest ends, just before the flush they would have
 * waited for anyway. One scheduler serves the whole node: no timer per connection.
 */
export class FlushScheduler {
  private dirty: Flushable[] = [];
  /** A flush is due: on the next turn, or as the rest ends. */
  private scheduled = false;
  /** Within `intervalMs` of the last flush (a timer ends the rest). */
  private resting = false;
  /** When the last flush began (the clock's ms). */
  private lastFlushAt = -Infinity;

  constructor(
    /** WRITE_COALESCE_MS: the least time between two flushes while events keep coming, in ms (0: every turn). */
    private readonly intervalMs = 0,
    /** Reading to pause while resting (the bus's); none by default. */
    private readonly reads?: PausableReads,
    /** A clock in ms (tests give their own). */
    private readonly now: () => number = () => performance.now(),
  ) {}

  schedule(target: Flushable): void {
    this.dirty.push(target);
    if (this.scheduled) return;
    this.scheduled = true;
    if (!this.resting) setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const at = this.now();
    // Busy: it flushed within the last two intervals (a rest that ended with something to flush is one).
    const busy = at - this.lastFlushAt < 2 * this.intervalMs;
    this.lastFlushAt = at;
    if (busy) {
      // The rest counts from the start of this flush, as the interval does.
      this.resting = true;
      this.reads?.pause();
      setTimeout(this.endRest, this.intervalMs);
    }
    const targets = this.dirty;
    this.dirty = [];
    const batches = new BatchCache();
    for (const target of targets) target.flush(batches);
  };

  private readonly endRest = (): void => {
    this.resting = false;
    // What the bus paused is read in this turn's I/O phase, which comes before setImmediate's.
    this.reads?.resume();
    if (this.scheduled) setImmediate(this.flush);
  };
}

/** Wire bytes made for one list of queued frames, and that list. */
interface Made {
  readonly items: readonly Outgoing[];
  readonly wire: Buffer;
}

/**
 * The bytes written during one flush, shared: when several connections have the
 * very same frames queued (the common case: every member got the same events
 * this turn), they are put together once and every such socket gets one write
 * of the same buffer.
 */
export class BatchCache {
  private readonly batches = new Map<Outgoing, Made[]>();
  private readonly runs = new Map<Outgoing, Made[]>();

  /** Protocol v2: the wire bytes of one text frame carrying the first `count` items one per line (docs/protocol.md, Batches). */
  batch(items: readonly Outgoing[], count = items.length): Buffer {
    if (count === 1) return wireOf(items[0]!);
    return this.shared(this.batches, items, count, batchWire);
  }

  /** The seed protocol: one text frame per item (its clients parse one JSON object per frame), back to back in one buffer. */
  run(items: readonly Outgoing[], count = items.length): Buffer {
    if (count === 1) return wireOf(items[0]!);
    return this.shared(this.runs, items, count, runWire);
  }

  /**
   * The wire bytes for the first `count` items, made once per flush for each
   * distinct list; the list is copied when kept (its owner reuses its array).
   */
  private shared(
    made: Map<Outgoing, Made[]>,
    items: readonly Outgoing[],
    count: number,
    make: (list: readonly Outgoing[]) => Buffer,
  ): Buffer {
    let candidates = made.get(items[0]!);
    if (candidates === undefined) {
      candidates = [];
      made.set(items[0]!, candidates);
    }
    for (const candidate of candidates) if (startsWith(items, count, candidate.items)) return candidate.wire;
    const list = items.slice(0, count);
    const wire = make(list);
    candidates.push({ items: list, wire });
    return wire;
  }
}

/** Protocol v2's batch frame: one text frame, the items one per line. */
function batchWire(list: readonly Outgoing[]): Buffer {
  return textFrame(Buffer.from(list.map((item) => item.text).join('\n')));
}

/** The seed protocol's run: one text frame per item, back to back. */
function runWire(list: readonly Outgoing[]): Buffer {
  return Buffer.concat(list.map(wireOf));
}

/** Whether the first `count` of `items` are `list`, item for item. */
function startsWith(items: readonly Outgoing[], count: number, list: readonly Outgoing[]): boolean {
  if (list.length !== count) return false;
  for (let i = 0; i < count; i++) if (items[i] !== list[i]) return false;
  return true;
}

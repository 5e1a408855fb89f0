import type { BroadcastEvent, Epoch, Seq } from '@switchboard/protocol';

/** A place in the cluster's one order. */
export interface Position {
  readonly epoch: Epoch;
  readonly seq: Seq;
}

/** What to do with a broadcast event, given what was delivered before it. */
export type Verdict =
  /** The next one: deliver it. */
  | { readonly kind: 'next' }
  /** Already delivered (seq at or below the last one, same epoch): drop it. */
  | { readonly kind: 'duplicate' }
  /** Later than the next one: deliver it, but events in between were never seen. */
  | { readonly kind: 'gap'; readonly from: Seq; readonly to: Seq }
  /** From another epoch: the history was lost; deliver it and start over from it. */
  | { readonly kind: 'epoch'; readonly previous: Epoch };

/**
 * The last broadcast event delivered to the application: decides, per incoming
 * event, whether it is the next one, a duplicate to drop, or past a gap. Within
 * an epoch seqs rise by exactly 1, so "seq <= last" is a duplicate.
 */
export class SequenceTracker {
  private last: Position | undefined;

  /** The last position delivered (or announced by the latest welcome). */
  get position(): Position | undefined {
    return this.last;
  }

  /** A welcome says where this connection's events start. */
  startAt(position: Position): void {
    this.last = position;
  }

  /** Judge `event` and, unless it is a duplicate, take its position as the last one. */
  accept(event: BroadcastEvent): Verdict {
    const last = this.last;
    this.last = { epoch: event.epoch, seq: event.seq };
    if (last === undefined) return { kind: 'next' };
    if (event.epoch !== last.epoch) return { kind: 'epoch', previous: last.epoch };
    if (event.seq <= last.seq) {
      this.last = last;
      return { kind: 'duplicate' };
    }
    if (event.seq > last.seq + 1) return { kind: 'gap', from: last.seq + 1, to: event.seq - 1 };
    return { kind: 'next' };
  }
}

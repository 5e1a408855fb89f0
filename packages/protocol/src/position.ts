import type { Epoch, Seq } from './ids.js';

/** A place in one ordered history: the last event seen, within one epoch. */
export interface Position {
  readonly epoch: Epoch;
  readonly seq: Seq;
}

/** What an incoming event is, given the last position delivered before it. */
export type Step =
  /** The next one (or the first ever): deliver it. */
  | { readonly kind: 'next' }
  /** Already delivered (same epoch, seq at or below the last): drop it. */
  | { readonly kind: 'duplicate' }
  /** Later than the next one, same epoch: the events `from`..`to` were not seen. */
  | { readonly kind: 'gap'; readonly from: Seq; readonly to: Seq }
  /** From another epoch: the history was lost; start over from this event. */
  | { readonly kind: 'epoch'; readonly previous: Epoch };

/** The steps without data, made once: advance() runs once per event per member. */
const NEXT: Step = Object.freeze({ kind: 'next' });
const DUPLICATE: Step = Object.freeze({ kind: 'duplicate' });

/**
 * The one rule every reader of the event order applies (the gateway's sequencer
 * and fan-out, the SDK): within an epoch seqs rise by exactly 1, so `seq <= last`
 * is a duplicate and `seq > last + 1` skips events; a new epoch starts afresh.
 */
export function advance(last: Position | undefined, event: Position): Step {
  if (last === undefined) return NEXT;
  if (event.epoch !== last.epoch) return { kind: 'epoch', previous: last.epoch };
  if (event.seq <= last.seq) return DUPLICATE;
  if (event.seq > last.seq + 1) return { kind: 'gap', from: last.seq + 1, to: event.seq - 1 };
  return NEXT;
}

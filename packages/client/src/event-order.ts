import { advance, type Epoch, type Position, type Seq, type Step } from '@switchboard/protocol';

/** Broadcast events were skipped on a live connection (never expected from a healthy cluster). */
export type Gap =
  | { readonly reason: 'seq'; readonly epoch: Epoch; readonly from: Seq; readonly to: Seq }
  | { readonly reason: 'epoch'; readonly previous: Epoch; readonly epoch: Epoch };

/**
 * Ordered delivery: the position of the last broadcast event delivered to the
 * application, and the protocol's one ordering rule (`advance`) applied to each
 * incoming event. A duplicate leaves the position where it was; anything else
 * becomes the new position.
 */
export class EventOrder {
  private last: Position | undefined;

  /** The last position delivered (or announced by the latest welcome). */
  get position(): Position | undefined {
    return this.last;
  }

  /** A welcome says where this connection's events start. */
  startAt(position: Position): void {
    this.last = position;
  }

  /** Judge `event` by the ordering rule and, unless it is a duplicate, take its position as the last one. */
  accept(event: Position): Step {
    const step = advance(this.last, event);
    if (step.kind !== 'duplicate') this.last = { epoch: event.epoch, seq: event.seq };
    return step;
  }
}

/** What the application is told about a step past events it never got, if anything. */
export function gapOf(step: Step, event: Position): Gap | undefined {
  switch (step.kind) {
    case 'gap':
      return { reason: 'seq', epoch: event.epoch, from: step.from, to: step.to };
    case 'epoch':
      return { reason: 'epoch', previous: step.previous, epoch: event.epoch };
    default:
      return undefined;
  }
}

import { advance, type Epoch, type Position, type RoomName, type Seq, type Step } from '@switchboard/protocol';

/** Broadcast events were skipped on a live connection (never expected from a healthy cluster). */
export type Gap =
  | { readonly reason: 'seq'; readonly epoch: Epoch; readonly from: Seq; readonly to: Seq }
  | { readonly reason: 'epoch'; readonly previous: Epoch; readonly epoch: Epoch };

/** A broadcast as the order reads it: where it happened and its place there. */
export interface Placed extends Position {
  /** Absent from servers without rooms: then every event is the connection's. */
  readonly room?: RoomName;
}

/**
 * Ordered delivery, per room. A connection is in one room at a time, and each
 * room has its own sequence: a `welcome` or a `joined` says which room and where
 * its events start (startAt). From there the protocol's one ordering rule
 * (`advance`) is applied to each live event of that room: a duplicate leaves the
 * position where it was, anything else becomes the new position. Events of
 * another room (late frames of a room the client has left) are not the
 * connection's (inRoom).
 *
 * The recent lines sent after a start (`history: true`) stand at or before the
 * start: they are judged apart (acceptHistory), never move the position, and
 * are never counted as duplicates or gaps.
 */
export class EventOrder {
  private last: Position | undefined;
  private current: RoomName | undefined;
  /** History lines are new while their seq is in (after, upTo] of upTo's epoch. */
  private history: { readonly upTo: Position; after: Seq } | undefined;

  /** The last position delivered in the current room (or announced by the latest welcome or joined). */
  get position(): Position | undefined {
    return this.last;
  }

  /** The room the connection is in, by the latest welcome or joined. */
  get room(): RoomName | undefined {
    return this.current;
  }

  /**
   * A welcome or a joined: from now on the connection is in `room`, whose events
   * start after `position`. A new room is a new sequence (no gap, no epoch
   * change). When it is the room and epoch the client was already reading (a
   * resume, a join of the room it is in), the history lines up to where it stood
   * were delivered already: they are not delivered again.
   */
  startAt(position: Position, room?: RoomName): void {
    const last = this.last;
    const seen = last !== undefined && room === this.current && last.epoch === position.epoch ? last.seq : 0;
    this.current = room;
    this.last = { epoch: position.epoch, seq: position.seq };
    this.history = { upTo: this.last, after: seen };
  }

  /** Whether an event belongs to the room the connection is in (always, from a server without rooms). */
  inRoom(event: Placed): boolean {
    return event.room === undefined || this.current === undefined || event.room === this.current;
  }

  /** Judge a live event by the ordering rule and, unless it is a duplicate, take its position as the last one. */
  accept(event: Position): Step {
    const step = advance(this.last, event);
    if (step.kind !== 'duplicate') this.last = { epoch: event.epoch, seq: event.seq };
    return step;
  }

  /**
   * Whether a history line is one to deliver: of the start's epoch, at or before
   * the start, after the last history line delivered and after what the client
   * had already delivered of this room.
   */
  acceptHistory(event: Position): boolean {
    const history = this.history;
    if (history === undefined || event.epoch !== history.upTo.epoch) return false;
    if (event.seq <= history.after || event.seq > history.upTo.seq) return false;
    history.after = event.seq;
    return true;
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

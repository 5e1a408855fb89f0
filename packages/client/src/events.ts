import type { AckFrame, MessageFrame, ServerFrame } from '@switchboard/protocol';
import type { Gap } from './event-order.js';
import type { Acknowledgement } from './outbox.js';
import type { PendingFrame, Rejection } from './sender.js';
import type { ResumeFailure } from './session.js';
import type { CloseInfo, StateChange } from './transport.js';

/**
 * One event per server frame type, named after it, carrying that frame: `message`
 * is a live chat line (history lines are `history` events), `joined` the move to
 * a room, `members` and `rooms` the answers to who() and rooms().
 */
export type FrameEvents = { [F in ServerFrame as F['type']]: F };

/** Everything a SwitchboardClient emits, by event name. */
export type ClientEvents = FrameEvents & {
  /**
   * Every frame, whatever its type, before its own event. Duplicate broadcasts,
   * and those of a room the client has left, are dropped before it.
   */
  frame: ServerFrame;
  /**
   * A recent chat line of the room, from before the client came (`history: true`):
   * after a welcome or a joined, before the live events. In order, each once,
   * never a `message` event, never a gap or a duplicate of the live order.
   */
  history: MessageFrame & { readonly history: true };
  /** Every state change, and every new reconnect attempt. */
  state: StateChange;
  /** Every connection that ends, deliberate or not. */
  close: CloseInfo;
  /** A text frame the client could not read (e.g. from a newer protocol); it is otherwise ignored. */
  unknown: string;
  /**
   * Protocol v2: a frame waiting for its acknowledgement (a line, a rename) or its
   * answer (join, who, rooms): when it is queued (`resends` 0), each time it is
   * written again, and once it is `overdue` (queued more than ackReconnectMs ago).
   * It ends with `acked` (or the answer's own event) or `rejected`.
   */
  pending: PendingFrame;
  /** Protocol v2: a send()/setNick() the server acknowledged. */
  acked: Acknowledgement;
  /** Protocol v2: a send()/setNick() refused for good; its promise rejects with the same error. */
  rejected: Rejection;
  /** Protocol v2: a reconnect could not resume without loss: events may have been missed. */
  resumeFailed: ResumeFailure;
  /** Events were skipped on a live connection. */
  gap: Gap;
  /**
   * The server closed the connection with 4010 TOKEN_EXPIRED (after `close`): its
   * token expired and no refresh came in time. With getToken the client reconnects
   * with a new token (`willReconnect`); with a plain token it stops.
   */
  tokenExpired: CloseInfo;
  /** The application's backend disconnected this user (4011 DISCONNECTED_BY_SERVER, after `close`): the client does not reconnect. */
  disconnectedByServer: CloseInfo;
  /**
   * getToken() failed when the token was to be refreshed, or the server refused
   * the new token (a ClientError TOKEN_INVALID with its sentence); it is asked
   * again in 5 s while the connection is open.
   */
  tokenError: Error;
  /** The server took the new token (its `ack` of the refresh): the connection goes on with it. */
  tokenRefreshed: AckFrame;
};

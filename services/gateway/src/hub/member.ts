import { encodeServerFrame, type BroadcastEvent, type Position, type ServerFrame, type SessionToken } from '@switchboard/protocol';
import { Outgoing, type Peer } from './peer.js';

/** A local peer, from the moment it connects, with its session and where it stands in the event order. */
export interface Member {
  readonly peer: Peer;
  /** Its session, once admission has created or resumed it. */
  token: SessionToken | undefined;
  /** Where its session began in the event order. */
  sessionStart: Position | undefined;
  /** The last event forwarded to it (set by its welcome). */
  position: Position | undefined;
  /** While the peer is catching up (welcome and replay not yet sent), live events wait here. */
  backlog: BroadcastEvent[] | undefined;
  /** Settles after the peer's last publish (and session update): its leave is written after it. */
  tail: Promise<unknown>;
  /** Whether its welcome was sent (and, for a new session, its connect notice published). */
  admitted: boolean;
  /** The close code, when the connection closed before admission finished. */
  closedWith: number | undefined;
}

export function newMember(peer: Peer): Member {
  return {
    peer,
    token: undefined,
    sessionStart: undefined,
    position: undefined,
    backlog: [],
    tail: Promise.resolve(),
    admitted: false,
    closedWith: undefined,
  };
}

/** Send one frame to one peer (frames for a single client: welcome, error, ack). */
export function sendFrame(peer: Peer, frame: ServerFrame): void {
  peer.send(new Outgoing(encodeServerFrame(frame)));
}

import type { BroadcastEvent, ClientCommand, ParseResult, Position, RoomName, SessionToken } from '@switchboard/protocol';
import type { Peer } from './peer.js';

/** A local peer, from the moment it connects, with its session and where it stands in the event order. */
export interface Member {
  readonly peer: Peer;
  /** Its session, once admission has created or resumed it. */
  token: SessionToken | undefined;
  /** Where its session began in the event order. */
  sessionStart: Position | undefined;
  /** The room it is in (its events are the ones it gets), once admitted; `lobby` before. */
  room: RoomName | undefined;
  /** The last event of its room forwarded to it (set by its welcome or join). */
  position: Position | undefined;
  /** While a join is under way, the commands that came after it wait here, in order. */
  held: ClientCommand[] | undefined;
  /** While the peer is catching up (welcome and replay not yet sent), live events wait here. */
  backlog: BroadcastEvent[] | undefined;
  /** Settles after the peer's last publish (and session update): its leave is written after it. */
  tail: Promise<unknown>;
  /** Settles once a command that holds the others (a rename, a join) and those it held are through. */
  busy: Promise<unknown>;
  /** Whether its welcome was sent (and, for a new session, its connect notice published). */
  admitted: boolean;
  /** Frames that came while it was being admitted, in order, to handle once it is; undefined after. */
  early: ParseResult[] | undefined;
  /** The close code, when the connection closed before admission finished. */
  closedWith: number | undefined;
}

export function newMember(peer: Peer): Member {
  return {
    peer,
    token: undefined,
    sessionStart: undefined,
    room: undefined,
    position: undefined,
    held: undefined,
    backlog: [],
    tail: Promise.resolve(),
    busy: Promise.resolve(),
    admitted: false,
    early: [],
    closedWith: undefined,
  };
}

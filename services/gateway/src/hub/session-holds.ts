import type { SessionToken } from '@switchboard/protocol';

/** A v2 session whose connection dropped on this node and that waits for a resume. */
export interface HeldSessionRef {
  readonly token: SessionToken;
  /** The connection whose drop left it waiting. */
  readonly conn: string;
}

/**
 * Where a node counts the sessions that dropped here and wait for a resume:
 * the upgrade gate counts them against their client address's connection cap
 * (MAX_CONNECTIONS_PER_IP), so an address cannot hold more names and rooms
 * without connections than it could hold with them. The hub tells it when one
 * begins to wait and when it stops (resumed here or on another node).
 */
export interface SessionHolds {
  /** A session that dropped from `address` waits for a resume for `forMs`. */
  held(address: string, session: HeldSessionRef, forMs: number): void;
  /** The session no longer waits here: resumed (here or on another node), or ended. */
  released(token: SessionToken): void;
}

/** Counts nothing: a hub on its own (tests), before the socket server tells it where to count. */
export const noSessionHolds: SessionHolds = {
  held: () => undefined,
  released: () => undefined,
};

import type { ClientId, Nickname, SessionToken } from '@switchboard/protocol';
import type { Identity } from '../hub/peer.js';

/** One client session: who it is, which connection holds it, how long it survives a drop. */
export interface SessionInfo {
  readonly token: SessionToken;
  readonly id: ClientId;
  readonly nickname: Nickname;
  /** The connection holding the session now (a per-connection id, not the client id). */
  readonly conn: string;
  /** How long after a drop the session may be resumed, in ms (0: seed-protocol clients). */
  readonly graceMs: number;
}

/**
 * Where sessions live, so that any node can resume one and exactly one
 * `NICK has disconnected` is announced when a session ends: at once on a
 * deliberate leave, or when the grace period after a drop passes without a
 * resume, even if the node that held the connection died (nodes hold leases;
 * a live node takes over the sessions of a node whose lease expired).
 *
 * Implementations: MemorySessionRegistry (one node), RedisSessionRegistry (a cluster).
 */
export interface SessionRegistry {
  /** Start leases and sweeping. `live` lists this node's sessions, re-registered whenever the store comes back. */
  start(live: () => Iterable<SessionInfo>): void;
  /** Register a new session held by `session.conn`. */
  create(session: SessionInfo): Promise<void>;
  /** Move a session to connection `conn` on this node. Undefined when the token is unknown or has ended. */
  resume(token: SessionToken, conn: string): Promise<Identity | undefined>;
  /** Record a new nickname, for the disconnect notice. */
  rename(token: SessionToken, nickname: Nickname): Promise<void>;
  /** The connection dropped: start the grace period, if `conn` still holds the session. */
  detach(token: SessionToken, conn: string): Promise<void>;
  /** The client left: end the session and announce it now, if `conn` still holds it. */
  end(token: SessionToken, conn: string): Promise<void>;
  /** Stop sweeping and give up this node's lease. */
  close(): Promise<void>;
}

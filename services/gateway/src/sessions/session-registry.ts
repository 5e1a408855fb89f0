import type { ClientId, Identity, Nickname, NodeId, Position, SessionToken } from '@switchboard/protocol';

/** One client session: who it is, which connection holds it, how long it survives a drop. */
export interface SessionInfo {
  readonly token: SessionToken;
  readonly id: ClientId;
  readonly nickname: Nickname;
  /** The connection holding the session now (a per-connection id, not the client id). */
  readonly conn: string;
  /** How long after a drop the session may be resumed, in ms (0: seed-protocol clients). */
  readonly graceMs: number;
  /** Where the session began in the event order: a resume never replays from before it. */
  readonly start: Position;
}

/** The connection that held a session when another resumed it. */
export interface Holder {
  readonly node: NodeId;
  readonly conn: string;
}

/** What resume() found: a live session (resumable), or one that has ended (its identity, to start anew with). */
export type Resumed =
  | {
      readonly identity: Identity;
      readonly live: true;
      readonly start: Position;
      /** The connection that still held the session (on this node or another): it must be closed. */
      readonly holder?: Holder;
    }
  | { readonly identity: Identity; readonly live: false };

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
  /**
   * Start leases and sweeping. `live` lists this node's sessions; they are
   * registered again whenever the store comes back or this node finds it was
   * taken for dead. `revived` is called for each one that had been ended meanwhile
   * (its disconnect was announced though the client is still here).
   */
  start(live: () => Iterable<SessionInfo>, revived: (session: SessionInfo) => void): void;
  /** Whether sessions can be created and resumed now. */
  ready(): boolean;
  /** Register a listener called whenever ready() may have changed. */
  onHealthChange(listener: () => void): void;
  /** Register a new session held by `session.conn`. */
  create(session: SessionInfo): Promise<void>;
  /**
   * Move a live session to connection `conn` on this node, and say which
   * connection held it until now, if one did (one holder per session: the caller
   * closes that one). For a session that
   * ended within the history's lifetime, its identity with `live: false` (once):
   * the caller starts a new session with the same id, so refs the client resends
   * are still recognised. Undefined when the token is unknown.
   */
  resume(token: SessionToken, conn: string): Promise<Resumed | undefined>;
  /** Record a new nickname, for the disconnect notice. */
  rename(token: SessionToken, who: Identity): Promise<void>;
  /** The connection dropped: start the grace period, if `conn` still holds the session. Kept and retried if the store is away. */
  detach(token: SessionToken, conn: string): Promise<void>;
  /**
   * The client left: end the session now, if `conn` still holds it, and announce
   * its disconnect unless `announce` is false (a client gone before it was ever
   * announced). Kept and retried if the store is away.
   */
  end(token: SessionToken, conn: string, announce: boolean): Promise<void>;
  /** Stop sweeping and give up this node's lease. */
  close(): Promise<void>;
}

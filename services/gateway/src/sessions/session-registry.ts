import type {
  ClientId,
  EventDraft,
  Identity,
  MemberInfo,
  Nickname,
  NodeId,
  Position,
  RoomInfo,
  RoomName,
  SessionToken,
} from '@switchboard/protocol';

/** One client session: who it is, which connection holds it, where it is, how long it survives a drop. */
export interface SessionInfo {
  readonly token: SessionToken;
  readonly id: ClientId;
  readonly nickname: Nickname;
  /** The connection holding the session now (a per-connection id, not the client id). */
  readonly conn: string;
  /** How long after a drop the session may be resumed, in ms (0: seed-protocol clients). */
  readonly graceMs: number;
  /** Where the session began in the event order of its first room: a resume never replays from before it. */
  readonly start: Position;
  /** The room the session is in. */
  readonly room: RoomName;
  /**
   * When a live connection last held it, ms since the epoch (see RESUME_LIVE_MS):
   * its hold after a drop ends `graceMs` after that. Now when absent; an identity
   * given back (Resumed, `live: false`) brings its own, so it does not start anew.
   */
  readonly liveAt?: number;
  /**
   * Identity on: the user (token `sub`) the session belongs to. It resumes only
   * for that user, and shares its name with the user's other sessions (no
   * NICK_TAKEN against oneself).
   */
  readonly user?: string;
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
      readonly room: RoomName;
      /** The connection that still held the session (on this node or another): it must be closed. */
      readonly holder?: Holder;
    }
  | {
      readonly identity: Identity;
      readonly live: false;
      /** When a live connection last held the ended session, ms since the epoch (SessionInfo.liveAt). */
      readonly liveAt: number;
    };

/**
 * What detach() did: the session waits for a resume until `until` (ms since the
 * epoch), then ends; `not-held`: the connection no longer held it (nothing
 * waits); `kept`: the store is away, and the detach is written once it is back
 * (the session then waits at most its grace).
 */
export type Detached = { readonly until: number } | 'not-held' | 'kept';

/**
 * A presence notice the registry decided (atomically with the change it tells
 * of), to be published by the caller at the right moment with announce(). Its
 * `once` key (Bus.publish) makes publishing it twice harmless; it names the
 * session's registration, never its token (a secret).
 */
export interface Notice {
  readonly draft: EventDraft;
  readonly once: string;
  /** The registry's own handle on it (Redis: its outbox entry). */
  readonly key: string;
}

/** Why a session could not be created, renamed or moved. */
export type SessionRefusal = 'nick-taken' | 'room-limit';

export type Created = { readonly ok: true; readonly notices: readonly Notice[] } | { readonly ok: false; readonly reason: SessionRefusal };

export type Joined =
  | { readonly ok: true; readonly from: RoomName; readonly notices: readonly Notice[] }
  | { readonly ok: false; readonly reason: SessionRefusal | 'same-room' | 'not-held' };

/** Members of a room: a bounded list, and how many there are. */
export interface Members {
  readonly members: readonly MemberInfo[];
  readonly count: number;
}

/**
 * Bounds of the cluster's presence: rooms, the room size past which comings and
 * goings are summed up, and how many moves a room hears of one by one.
 */
export interface PresenceLimits {
  /** Rooms with people, at most (MAX_ROOMS); the default room is always allowed. */
  readonly maxRooms: number;
  /** Members of a room past which its presence notices become summaries (PRESENCE_NOTICE_LIMIT). */
  readonly presenceNoticeLimit: number;
  /** `joined` and `left` notices one room gets a second, sustained (JOIN_NOTICE_RATE_PER_SEC); past the burst, summed up. */
  readonly joinNoticeRatePerSec: number;
  /** `joined` and `left` notices one room may get at once (JOIN_NOTICE_BURST). */
  readonly joinNoticeBurst: number;
}

/**
 * Where sessions live, and with them presence (who is in which room) and the
 * cluster's nicknames (unique, case-insensitive), so that any node can resume a
 * session and exactly one `NICK has disconnected` is announced when a session
 * ends: at once on a deliberate leave, or when the grace period after a drop
 * passes without a resume, even if the node that held the connection died (nodes
 * hold leases; a live node takes over the sessions of a node found dead).
 *
 * Implementations: MemorySessionRegistry (one node), RedisSessionRegistry (a cluster).
 */
export interface SessionRegistry {
  /**
   * Start leases and sweeping. `live` lists this node's sessions; they are
   * registered again whenever the store comes back or this node finds it was
   * taken for dead; then each one that had been ended meanwhile (its disconnect
   * was announced though the client is still here) is announced connected again.
   */
  start(live: () => Iterable<SessionInfo>): void;
  /** Whether sessions can be created and resumed now. */
  ready(): boolean;
  /** Register a listener called whenever ready() may have changed. */
  onHealthChange(listener: () => void): void;
  /**
   * Register a new session held by `session.conn`, in its room, holding its
   * nickname; `announce`: decide its `connected` notice (returned, to publish once
   * the client has its welcome). Refused when the name is taken or the room would
   * pass MAX_ROOMS.
   */
  create(session: SessionInfo, announce: boolean): Promise<Created>;
  /**
   * Move a live session to connection `conn` on this node, and say which
   * connection held it until now, if one did (one holder per session: the caller
   * closes that one). For a session that ended within the history's lifetime,
   * its identity with `live: false` (once): the caller starts a new session with
   * the same id, so refs the client resends are still recognised. A session
   * waiting for a resume past its end (which the sweep has not reached yet) is
   * ended here, announced, and answered the same way. Undefined when the token
   * is unknown, or the session belongs to a user other than `user` (a session
   * started with a token resumes only with a token for the same `sub`; one
   * started without, only without): nothing is changed then.
   */
  resume(token: SessionToken, conn: string, user?: string): Promise<Resumed | undefined>;
  /** Give the session a new nickname, if nobody else's session holds it (case-insensitively). */
  rename(token: SessionToken, who: Identity): Promise<'ok' | 'nick-taken'>;
  /**
   * Move the session (held by `conn`) to `room`: its `left` and `joined` notices
   * are returned, to publish; a room past its budget of such notices (or past
   * PRESENCE_NOTICE_LIMIT members) gets none, the move counted for its next summary.
   */
  join(token: SessionToken, conn: string, room: RoomName): Promise<Joined>;
  /** Who is in `room`, cluster-wide: at most `max` of them, and how many. */
  members(room: RoomName, max: number): Promise<Members>;
  /** The rooms with people in them, the fullest first, at most `max`. */
  rooms(max: number): Promise<readonly RoomInfo[]>;
  /** Publish notices the registry decided, in order. Kept and published later by a sweep if this fails. */
  announce(notices: readonly Notice[]): Promise<void>;
  /**
   * The connection dropped: start the grace period, if `conn` still holds the
   * session. The session waits for a resume until one grace after its last live
   * connection: this one if it held the session at least RESUME_LIVE_MS (or half
   * the grace, if that is shorter), otherwise the one before (a new session's
   * first counts from its start), so a connection that only said hello does not
   * restart the clock. Kept and retried if the store is away.
   */
  detach(token: SessionToken, conn: string): Promise<Detached>;
  /**
   * End a session that waits for a resume since `conn` dropped, as if its grace
   * had run out (its disconnect announced once, its name and room released):
   * its node needs the room for a new connection from the same address. Nothing
   * if it was resumed since, or has ended.
   */
  expire(token: SessionToken, conn: string): Promise<void>;
  /**
   * Register a listener told of sessions that dropped on this node and were
   * resumed on another (they no longer wait here). A registry of one node never calls it.
   */
  onResumedElsewhere(listener: (token: SessionToken) => void): void;
  /**
   * The client left: end the session now, if `conn` still holds it, and announce
   * its disconnect unless `announce` is false (a client gone before it was ever
   * announced). Kept and retried if the store is away.
   */
  end(token: SessionToken, conn: string, announce: boolean): Promise<void>;
  /** Stop sweeping and give up this node's lease. */
  close(): Promise<void>;
}

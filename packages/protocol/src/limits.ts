/**
 * Protocol limits. Each is a default: the gateway reads the live value from its
 * configuration (see the README's configuration table), clients may use these to
 * refuse input early.
 */

/**
 * Largest client frame, in bytes of UTF-8 payload. The seed's `maxMessageSize`
 * (512). Past it the server closes the connection with 1009 (MESSAGE_TOO_BIG)
 * and the frame is never broadcast.
 */
export const MAX_MESSAGE_BYTES = 512;

/** Longest nickname, in characters (code points). Past it `/nick` gets an `error` frame. */
export const MAX_NICKNAME_LENGTH = 32;

/** How often the server pings each client, in milliseconds (the seed's `pingPeriod`). */
export const PING_INTERVAL_MS = 54_000;

/**
 * How long the server waits for any sign of life (a pong or a frame) before it
 * drops the client, in milliseconds (the seed's `pongWait`). The others then get
 * its `NICK has disconnected` notice.
 */
export const PONG_TIMEOUT_MS = 60_000;

/**
 * Per-client outbound buffer budget, in bytes. A client whose unsent frames
 * exceed it is a slow consumer: it is closed with 4001 (SLOW_CONSUMER) so that
 * nobody else waits for it and memory stays bounded.
 */
export const MAX_BUFFERED_BYTES = 1024 * 1024;

/**
 * Sustained frames per second a client may send. Past the burst allowance each
 * extra frame is refused with an `error` frame (code RATE_LIMITED) and not broadcast.
 */
export const MESSAGE_RATE_PER_SEC = 20;

/** Frames a client may send at once before MESSAGE_RATE_PER_SEC applies. */
export const MESSAGE_BURST = 40;

/**
 * Sustained joins per second a client may make (`/join`, v2 `join`), within
 * MESSAGE_RATE_PER_SEC: each one costs a session script, two presence notices
 * and the new room's recent lines. Past the burst a join is refused with
 * RATE_LIMITED (and `retryAfterMs`) and not done.
 */
export const JOIN_RATE_PER_SEC = 1;

/** Joins a client may make at once before JOIN_RATE_PER_SEC applies. */
export const JOIN_BURST = 5;

/**
 * Sustained presence questions per second a client may ask (`/who` and
 * `/rooms` together), within MESSAGE_RATE_PER_SEC. Past the burst a question
 * is refused with RATE_LIMITED (and `retryAfterMs`) and not answered.
 */
export const PRESENCE_QUERY_RATE_PER_SEC = 2;

/** Presence questions a client may ask at once before PRESENCE_QUERY_RATE_PER_SEC applies. */
export const PRESENCE_QUERY_BURST = 10;

/** Default nickname prefix; the cluster-wide counter is appended (`AnonymousUser1`). */
export const DEFAULT_NICKNAME_PREFIX = 'AnonymousUser';

/** Protocol v2: how long a dropped session can be resumed, in ms; past it the cluster hears `NICK has disconnected`. */
export const RESUME_GRACE_MS = 30_000;

/**
 * Protocol v2: how long a connection must hold its session to count as live, in
 * ms (or half of RESUME_GRACE_MS, if that is shorter). A live connection's drop
 * gives the session a full RESUME_GRACE_MS; a
 * shorter one (a hello and a drop) does not restart that clock, so resuming
 * never holds a session longer than one grace after its last live connection.
 */
export const RESUME_LIVE_MS = 10_000;

/** Protocol v2: how long a new connection has to send `hello`, in ms; past it, closed with 4003. */
export const HELLO_TIMEOUT_MS = 10_000;

/** Protocol v2: longest `ref`, in characters. */
export const MAX_REF_LENGTH = 64;

/** Events kept in the cluster's history for resume and gap repair (also bounded by HISTORY_MAX_AGE_MS). */
export const HISTORY_MAX_EVENTS = 10_000;

/**
 * Protocol v2: most events replayed to one resuming client. A client further
 * behind gets `resumed: false` (and live events) instead of a replay, so no
 * single hello can make a node read megabytes out of Redis.
 */
export const RESUME_MAX_EVENTS = 2_000;

/** Oldest event kept in the history, in ms. */
export const HISTORY_MAX_AGE_MS = 600_000;

/**
 * Protocol v2: refs remembered per client for de-duplication (as long as the
 * history, and at most this many: the oldest are forgotten first). A client
 * must not have more frames than this waiting for their acknowledgement (the
 * SDK keeps at most 100).
 */
export const REFS_PER_CLIENT = 1_000;

/**
 * Bytes of events (encoded JSON) kept in the history, besides HISTORY_MAX_EVENTS
 * and HISTORY_MAX_AGE_MS: whichever bound is reached first trims the oldest.
 */
export const HISTORY_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Protocol v2: most bytes of events replayed to one resuming client. A client
 * further behind gets `resumed: false` (and live events). Below MAX_BUFFERED_BYTES,
 * so a replay never makes its own client a slow consumer.
 */
export const RESUME_MAX_BYTES = 512 * 1024;

/** Chat lines of a room sent to a client after its `welcome` or `joined`, marked `history: true`. */
export const HISTORY_ON_JOIN = 50;

/**
 * Rooms with people in them, cluster-wide, at most. Past it a `/join` to a new
 * room gets ROOM_LIMIT (every room costs Redis keys and a subscription).
 */
export const MAX_ROOMS = 1_000;

/**
 * Members of a room above which its comings and goings are no longer announced
 * one by one, but summed up now and then ("12 people joined, 3 left"), so that a
 * crowd joining costs linear work, not quadratic.
 */
export const PRESENCE_NOTICE_LIMIT = 200;

/** How often a room over PRESENCE_NOTICE_LIMIT hears the summary of its comings and goings, in ms. */
export const PRESENCE_SUMMARY_INTERVAL_MS = 2_000;

/**
 * `joined` and `left` notices one room gets per second, cluster-wide,
 * sustained, whoever moves: past JOIN_NOTICE_BURST a move is not announced one
 * by one but counted into the room's next summary (every
 * PRESENCE_SUMMARY_INTERVAL_MS). Clients flapping between rooms cost each
 * member a bounded number of notices a second, and a room's history a bounded
 * share (docs/protocol.md).
 */
export const JOIN_NOTICE_RATE_PER_SEC = 2;

/** `joined` and `left` notices one room may get at once before JOIN_NOTICE_RATE_PER_SEC applies. */
export const JOIN_NOTICE_BURST = 10;

/** Members listed by one `/who` (the `count` says how many there are). */
export const MAX_MEMBERS_LISTED = 200;

/** Rooms listed by one `/rooms`, the fullest first. */
export const MAX_ROOMS_LISTED = 100;

import type { ClientId, Epoch, Identity, Nickname, NodeId, Seq } from './ids.js';
import type { ErrorCode, ProtocolErrorInfo } from './errors.js';
import { withRef } from './ref.js';
import type { RoomName } from './room.js';

/**
 * Server -> client frames. Every frame is one JSON object in one text frame with at
 * least `type`, `id`, `nickname` and `message`, as the seed sends them; Switchboard
 * adds fields but never removes or renames one.
 */

/**
 * Fields every broadcast event carries: its room and its place in that room's
 * one order. `seq` rises by exactly 1 per event within a room, across the whole
 * cluster; `epoch` names the room's history and changes when that history is lost.
 */
export interface Sequenced {
  /** The room the event happened in: everyone in it, on every node, gets it. */
  readonly room: RoomName;
  readonly seq: Seq;
  readonly epoch: Epoch;
  /** The sender's `ref` (protocol v2), echoed as its acknowledgement. */
  readonly ref?: string;
}

/** A chat line, sent to every client in the room on every node, the sender included. */
export interface MessageFrame extends Sequenced {
  readonly type: 'message';
  /** The sender's id. */
  readonly id: ClientId;
  /** The sender's nickname when it sent the line. */
  readonly nickname: Nickname;
  readonly message: string;
  /** When the sender's node accepted the line, in milliseconds since the Unix epoch. */
  readonly time: number;
  /**
   * True on the recent lines a client gets after its `welcome` or `joined`, from
   * before it came: they are history, shown as such, not news.
   */
  readonly history?: true;
}

/**
 * What a notification tells: someone connected or disconnected (in the room
 * their session is in), joined or left a room, or, in a room too big for a
 * notice per person (PRESENCE_NOTICE_LIMIT), how many did in the last while;
 * or a `notice` the application's backend posted (`POST /api/publish` with no `from`).
 */
export type NotificationEvent = 'connected' | 'disconnected' | 'joined' | 'left' | 'summary' | 'notice';

/** `NICK has connected`, `NICK has joined`... to every client in the room on every node. */
export interface NotificationFrame extends Sequenced {
  readonly type: 'notification';
  readonly id: ClientId;
  readonly nickname: Nickname;
  readonly message: string;
  /** What happened, so clients need not parse `message`. */
  readonly event: NotificationEvent;
  readonly time: number;
  /** A `summary`: how many came (connected or joined) and went (disconnected or left) since the last one. */
  readonly joined?: number;
  readonly left?: number;
}

/** A `/nick` change, to every client: `nickname` is the new name. */
export interface NickUpdateFrame extends Sequenced {
  readonly type: 'nick_update';
  readonly id: ClientId;
  /** The new nickname. */
  readonly nickname: Nickname;
  /** `Client OLD changed to NEW`, the seed's wording. */
  readonly message: string;
  /** The old nickname. */
  readonly previous: Nickname;
  readonly time: number;
}

/**
 * The limits this node enforces on the client, sent in `welcome` so that clients
 * refuse what would be refused anyway before sending it (the live values of the
 * node's settings, which may differ from the defaults in limits.ts).
 */
export interface ClientLimits {
  /** Largest frame the client may send, bytes of UTF-8 (MAX_MESSAGE_BYTES); past it the node closes with 1009. */
  readonly maxMessageBytes: number;
  /** Sustained frames per second (MESSAGE_RATE_PER_SEC); past the burst, frames get RATE_LIMITED. */
  readonly messageRatePerSec: number;
  /** Frames at once before the rate applies (MESSAGE_BURST). */
  readonly messageBurst: number;
  /** Longest nickname, in characters (MAX_NICKNAME_LENGTH). */
  readonly maxNicknameLength: number;
}

/** The first frame on every connection, to that client alone. */
export interface WelcomeFrame {
  readonly type: 'welcome';
  readonly id: ClientId;
  readonly nickname: Nickname;
  readonly message: string;
  /** The gateway node serving this connection. */
  readonly node: NodeId;
  /** The history this connection's events belong to. */
  readonly epoch?: Epoch;
  /** The last `seq` before the first event this connection receives. */
  readonly seq?: Seq;
  /** Protocol v2: the secret resume token of this session. */
  readonly session?: string;
  /** Protocol v2: true when this connection continues a session with no event missed. */
  readonly resumed?: boolean;
  /** The limits this node enforces (absent from servers older than this field). */
  readonly limits?: ClientLimits;
  /** The room this connection is in (where `epoch` and `seq` belong): `lobby` on connecting, or the resumed session's. */
  readonly room?: RoomName;
}

/**
 * The answer to a join (`/join ROOM`), to the mover alone: from now on it is in
 * `room`, whose events start after `seq` of `epoch`. The room's recent lines
 * (`history: true`) follow, then its live events.
 */
export interface JoinedFrame {
  readonly type: 'joined';
  readonly id: ClientId;
  readonly nickname: Nickname;
  readonly message: string;
  readonly room: RoomName;
  readonly epoch: Epoch;
  readonly seq: Seq;
  /** Protocol v2: the `ref` of the join request. */
  readonly ref?: string;
}

/** Someone in a room, as `/who` lists them. */
export interface MemberInfo {
  readonly id: ClientId;
  readonly nickname: Nickname;
}

/** The answer to `/who`, to the asker alone: who is in its room, cluster-wide. */
export interface MembersFrame {
  readonly type: 'members';
  readonly id: ClientId;
  readonly nickname: Nickname;
  readonly message: string;
  readonly room: RoomName;
  /** At most MAX_MEMBERS_LISTED of them; `count` is how many there are. */
  readonly members: readonly MemberInfo[];
  readonly count: number;
  readonly ref?: string;
}

/** A room and how many are in it. */
export interface RoomInfo {
  readonly room: RoomName;
  readonly count: number;
}

/** The answer to `/rooms`, to the asker alone: the rooms with people in them, the fullest first. */
export interface RoomsFrame {
  readonly type: 'rooms';
  readonly id: ClientId;
  readonly nickname: Nickname;
  readonly message: string;
  /** At most MAX_ROOMS_LISTED of them. */
  readonly rooms: readonly RoomInfo[];
  readonly ref?: string;
}

/** A command, as `/help` lists it. */
export interface CommandInfo {
  /** How to type it: `/join ROOM`. */
  readonly usage: string;
  /** What it does, in a few words. */
  readonly does: string;
}

/** The answer to `/help`, to the asker alone: the commands there are. */
export interface HelpFrame {
  readonly type: 'help';
  readonly id: ClientId;
  readonly nickname: Nickname;
  /** The commands as one sentence a person can read. */
  readonly message: string;
  readonly commands: readonly CommandInfo[];
  readonly ref?: string;
}

/** A refusal, to the offending client alone. Nothing was broadcast. */
export interface ErrorFrame {
  readonly type: 'error';
  readonly id: ClientId;
  readonly nickname: Nickname;
  /** A sentence a person can read. */
  readonly message: string;
  readonly code: ErrorCode;
  /**
   * RATE_LIMITED: how long until the same kind of input would be accepted, in
   * whole ms (at least 1). Sending it again sooner is refused again.
   */
  readonly retryAfterMs?: number;
  /** Protocol v2: the `ref` of the refused frame. */
  readonly ref?: string;
  /** ROOM_FORBIDDEN after a `refresh` (identity on): the room the new token no longer allows, which the connection left. */
  readonly room?: RoomName;
}

/**
 * The one way to build an `error` frame: a refusal of `error` (a code and its
 * sentence, see errorInfo; RATE_LIMITED with its retry hint, see rateLimited)
 * to the client `to`, with the refused frame's `ref`.
 */
export function errorFrame(to: Identity, error: ProtocolErrorInfo, ref?: string): ErrorFrame {
  const { code, message, retryAfterMs } = error;
  return {
    type: 'error',
    id: to.id,
    nickname: to.nickname,
    code,
    message,
    ...(retryAfterMs !== undefined && { retryAfterMs }),
    ...withRef(ref),
  };
}

/**
 * Protocol v2: a retried frame whose `ref` was already broadcast. Nothing is sent
 * again; `seq` is where the original stands.
 *
 * Also the answer to an accepted `refresh` (identity on), in both protocols:
 * `message` is TOKEN_REFRESHED_TEXT, `ref` the refresh's (none for `/refresh
 * TOKEN`, or a v2 refresh without one), `room`, `seq` and `epoch` where the
 * connection stands once the new token's rooms are enforced.
 */
export interface AckFrame {
  readonly type: 'ack';
  readonly id: ClientId;
  readonly nickname: Nickname;
  readonly message: string;
  /** The acknowledged frame's `ref`: always there for a retried line; absent for a refresh that had none. */
  readonly ref?: string;
  readonly room: RoomName;
  readonly seq: Seq;
  readonly epoch: Epoch;
}

/** Events that are broadcast to a room, across the whole cluster. */
export type BroadcastEvent = MessageFrame | NotificationFrame | NickUpdateFrame;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A broadcast event before the bus has given it its place (`seq`, `epoch`). */
export type EventDraft = DistributiveOmit<BroadcastEvent, 'seq' | 'epoch'>;

/** Every frame the server sends. */
export type ServerFrame = BroadcastEvent | WelcomeFrame | ErrorFrame | AckFrame | JoinedFrame | MembersFrame | RoomsFrame | HelpFrame;

export type ServerFrameType = ServerFrame['type'];

export const BROADCAST_TYPES: ReadonlySet<string> = new Set(['message', 'notification', 'nick_update']);

export const SERVER_FRAME_TYPES: ReadonlySet<string> = new Set([
  ...BROADCAST_TYPES,
  'welcome',
  'error',
  'ack',
  'joined',
  'members',
  'rooms',
  'help',
]);

import type { ClientId, Nickname, NodeId } from './ids.js';
import type { ErrorCode } from './errors.js';

/**
 * Server -> client frames. Every frame is one JSON object in one text frame with at
 * least `type`, `id`, `nickname` and `message`, as the seed sends them; Switchboard
 * adds fields but never removes or renames one.
 */

/** A chat line, sent to every client on every node, the sender included. */
export interface MessageFrame {
  readonly type: 'message';
  /** The sender's id. */
  readonly id: ClientId;
  /** The sender's nickname when it sent the line. */
  readonly nickname: Nickname;
  readonly message: string;
  /** When the sender's node accepted the line, in milliseconds since the Unix epoch. */
  readonly time: number;
}

/** `NICK has connected` / `NICK has disconnected`, to every client on every node. */
export interface NotificationFrame {
  readonly type: 'notification';
  readonly id: ClientId;
  readonly nickname: Nickname;
  readonly message: string;
  /** What happened, so clients need not parse `message`. */
  readonly event: 'connected' | 'disconnected';
  readonly time: number;
}

/** A `/nick` change, to every client: `nickname` is the new name. */
export interface NickUpdateFrame {
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

/** The first frame on every connection, to that client alone. */
export interface WelcomeFrame {
  readonly type: 'welcome';
  readonly id: ClientId;
  readonly nickname: Nickname;
  readonly message: string;
  /** The gateway node serving this connection. */
  readonly node: NodeId;
}

/** A refusal, to the offending client alone. Nothing was broadcast. */
export interface ErrorFrame {
  readonly type: 'error';
  readonly id: ClientId;
  readonly nickname: Nickname;
  /** A sentence a person can read. */
  readonly message: string;
  readonly code: ErrorCode;
}

/** Events that are broadcast to the whole cluster. */
export type BroadcastEvent = MessageFrame | NotificationFrame | NickUpdateFrame;

/** Every frame the server sends. */
export type ServerFrame = BroadcastEvent | WelcomeFrame | ErrorFrame;

export type ServerFrameType = ServerFrame['type'];

export const BROADCAST_TYPES: ReadonlySet<string> = new Set(['message', 'notification', 'nick_update']);

export const SERVER_FRAME_TYPES: ReadonlySet<string> = new Set([...BROADCAST_TYPES, 'welcome', 'error']);

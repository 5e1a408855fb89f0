import type { ProtocolErrorInfo } from './errors.js';
import type { RoomName } from './room.js';

/**
 * What a client asks for, whichever protocol it speaks: a seed text line and a
 * v2 JSON frame parse to the same commands.
 */
export type ClientCommand =
  | { readonly type: 'message'; readonly message: string; readonly ref?: string }
  | { readonly type: 'nick'; readonly nickname: string; readonly ref?: string }
  /** Move to another room (`/join ROOM`). */
  | { readonly type: 'join'; readonly room: RoomName; readonly ref?: string }
  /** Who is in my room (`/who`): answered to the asker alone. */
  | { readonly type: 'who'; readonly ref?: string }
  /** Which rooms have people in them (`/rooms`): answered to the asker alone. */
  | { readonly type: 'rooms'; readonly ref?: string }
  /** Which commands there are (`/help`): answered to the asker alone. */
  | { readonly type: 'help'; readonly ref?: string }
  /** A new token for the connection's user (`/refresh TOKEN`; identity on): the gateway checks it, the hub never sees it. */
  | { readonly type: 'refresh'; readonly token: string; readonly ref?: string };

/** A parsed command, or the refusal to send back (with the frame's `ref`, when it had one). */
export type ParseResult =
  { readonly ok: true; readonly command: ClientCommand } | { readonly ok: false; readonly error: ProtocolErrorInfo; readonly ref?: string };

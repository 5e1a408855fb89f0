import type { ParseResult } from './commands.js';
import { BadFrame, ErrorCode, errorInfo, type ProtocolErrorInfo } from './errors.js';
import type { Epoch, Seq, SessionToken } from './ids.js';
import { MAX_REF_LENGTH } from './limits.js';
import { parseNickname } from './nickname.js';
import { withRef } from './ref.js';
import { parseRoomName, type RoomName } from './room.js';

/** The WebSocket subprotocol that selects protocol v2. Without it a connection speaks the seed protocol. */
export const SUBPROTOCOL_V2 = 'switchboard.v2';

/**
 * Protocol v2, client -> server: JSON frames. The first must be `hello`; it may
 * carry a session to resume and the last position the client saw.
 */
export interface HelloFrame {
  readonly type: 'hello';
  readonly session?: SessionToken;
  /** The last `seq` the client received. */
  readonly since?: Seq;
  /** The `epoch` that `since` belongs to. */
  readonly epoch?: Epoch;
  /** The room that `since` and `epoch` belong to (each room has its own sequence). */
  readonly room?: RoomName;
  /** Identity on: the connection's token (JWT), when the upgrade carried none. */
  readonly token?: string;
}

/** Identity on: a new token for the same user (`sub`), before the current one expires; refused with TOKEN_INVALID otherwise. */
export interface RefreshRequest {
  readonly type: 'refresh';
  readonly token: string;
  readonly ref?: string;
}

/** A chat line; `ref` (client-chosen) comes back on the broadcast as its acknowledgement. */
export interface MessageRequest {
  readonly type: 'message';
  readonly message: string;
  readonly ref?: string;
}

/** A rename; `ref` comes back on the `nick_update`. */
export interface NickRequest {
  readonly type: 'nick';
  readonly nickname: string;
  readonly ref?: string;
}

/** Move to another room; `ref` comes back on the `joined` answer. */
export interface JoinRequest {
  readonly type: 'join';
  readonly room: string;
  readonly ref?: string;
}

/** Who is in my room; answered with `members` (carrying `ref`). */
export interface WhoRequest {
  readonly type: 'who';
  readonly ref?: string;
}

/** Which rooms have people; answered with `rooms` (carrying `ref`). */
export interface RoomsRequest {
  readonly type: 'rooms';
  readonly ref?: string;
}

export type ClientFrameV2 = HelloFrame | MessageRequest | NickRequest | JoinRequest | WhoRequest | RoomsRequest | RefreshRequest;

export type HelloResult = { readonly ok: true; readonly hello: HelloFrame } | { readonly ok: false; readonly error: ProtocolErrorInfo };

/** Parse the first v2 frame, which must be `hello`. Never throws. */
export function parseHello(text: string): HelloResult {
  const value = parseObject(text);
  if (!value || value.type !== 'hello') return badHello(BadFrame.HELLO_FIRST);
  const { session, since, epoch, room, token } = value;
  if (token !== undefined && (typeof token !== 'string' || token.length === 0)) return badHello(BadFrame.BAD_TOKEN);
  if (session !== undefined && typeof session !== 'string') return badHello(BadFrame.BAD_SESSION);
  if (since !== undefined && !(Number.isSafeInteger(since) && (since as number) >= 0)) return badHello(BadFrame.BAD_SINCE);
  if (epoch !== undefined && typeof epoch !== 'string') return badHello(BadFrame.BAD_EPOCH);
  const roomName = room === undefined ? undefined : typeof room === 'string' ? parseRoomName(room) : undefined;
  if (room !== undefined && !roomName?.ok) return badHello(BadFrame.BAD_ROOM);
  const hello: HelloFrame = {
    type: 'hello',
    ...(session !== undefined && { session: session }),
    ...(since !== undefined && { since: since as number }),
    ...(epoch !== undefined && { epoch: epoch }),
    ...(roomName?.ok && { room: roomName.room }),
    ...(token !== undefined && { token: token }),
  };
  return { ok: true, hello };
}

/** Parse a v2 frame after `hello`: a message, a nick, join, who, rooms or help request. Never throws; errors carry the `ref`. */
export function parseClientFrameV2(text: string): ParseResult {
  const value = parseObject(text);
  if (!value) return fail(BadFrame.NOT_AN_OBJECT);
  const ref = value.ref;
  if (ref !== undefined && (typeof ref !== 'string' || ref.length === 0 || ref.length > MAX_REF_LENGTH)) {
    return fail(BadFrame.BAD_REF);
  }
  const refField = withRef(ref);
  switch (value.type) {
    case 'message': {
      if (typeof value.message !== 'string') return fail(BadFrame.MESSAGE_NOT_STRING, refField.ref);
      if (value.message.trim().length === 0) return { ok: false, error: errorInfo(ErrorCode.EMPTY_MESSAGE), ...refField };
      return { ok: true, command: { type: 'message', message: value.message, ...refField } };
    }
    case 'nick': {
      // The same rule as `/nick NAME`: the first word, NFC, no invisible or control characters.
      const result = parseNickname(typeof value.nickname === 'string' ? value.nickname : '');
      if (!result.ok) return { ok: false, error: result.error, ...refField };
      return { ok: true, command: { type: 'nick', nickname: result.nickname, ...refField } };
    }
    case 'join': {
      const result = parseRoomName(typeof value.room === 'string' ? value.room : '');
      if (!result.ok) return { ok: false, error: result.error, ...refField };
      return { ok: true, command: { type: 'join', room: result.room, ...refField } };
    }
    case 'who':
      return { ok: true, command: { type: 'who', ...refField } };
    case 'rooms':
      return { ok: true, command: { type: 'rooms', ...refField } };
    case 'help':
      return { ok: true, command: { type: 'help', ...refField } };
    case 'refresh':
      if (typeof value.token !== 'string' || value.token.length === 0) return fail(BadFrame.REFRESH_TOKEN, refField.ref);
      return { ok: true, command: { type: 'refresh', token: value.token, ...refField } };
    case 'hello':
      return fail(BadFrame.HELLO_AGAIN, refField.ref);
    default:
      return fail(BadFrame.unknownType(value.type), refField.ref);
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function badHello(detail: string): HelloResult {
  return { ok: false, error: errorInfo(ErrorCode.BAD_FRAME, detail) };
}

function fail(detail: string, ref?: string): ParseResult {
  return { ok: false, error: errorInfo(ErrorCode.BAD_FRAME, detail), ...withRef(ref) };
}

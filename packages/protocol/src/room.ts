import { ErrorCode, errorInfo, type ProtocolErrorInfo } from './errors.js';

/** A room's name: 1 to MAX_ROOM_NAME_LENGTH of `a-z 0-9 - _` (see parseRoomName). */
export type RoomName = string;

/** Where every connection starts: the seed's one hub. */
export const DEFAULT_ROOM: RoomName = 'lobby';

/** Longest room name, in characters. */
export const MAX_ROOM_NAME_LENGTH = 32;

const ROOM_NAME = /^[a-z0-9_-]+$/;

export type RoomNameResult = { readonly ok: true; readonly room: RoomName } | { readonly ok: false; readonly error: ProtocolErrorInfo };

/**
 * The room a `/join` asks for: trimmed, lower-cased, a leading `#` dropped,
 * each run of whitespace made one `-` (`/join Dev Room` is `#dev-room`); then 1
 * to MAX_ROOM_NAME_LENGTH characters of `a-z 0-9 - _`, else ROOM_INVALID. The
 * `joined` answer names the room it became, so a change is always said back.
 * Never throws.
 */
export function parseRoomName(requested: string): RoomNameResult {
  const room = requested.trim().toLowerCase().replace(/^#/, '').trim().replace(/\s+/gu, '-');
  if (room.length === 0 || room.length > MAX_ROOM_NAME_LENGTH || !ROOM_NAME.test(room)) {
    return { ok: false, error: errorInfo(ErrorCode.ROOM_INVALID) };
  }
  return { ok: true, room };
}

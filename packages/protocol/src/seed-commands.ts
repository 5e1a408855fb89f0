import type { ParseResult } from './commands.js';
import { ErrorCode, errorInfo } from './errors.js';
import { parseNickname } from './nickname.js';
import { parseRoomName } from './room.js';

/**
 * The seed protocol, client -> server: every text frame is one line. `/nick NAME`
 * renames the client, `/join ROOM` moves it, `/who` and `/rooms` ask; anything
 * else is a chat line.
 */

export const NICK_COMMAND = '/nick';
export const JOIN_COMMAND = '/join';
export const WHO_COMMAND = '/who';
export const ROOMS_COMMAND = '/rooms';

/**
 * Parse one text frame from a seed-protocol client. Never throws.
 *
 * A command is a command only as a whole word: `/nick NAME` renames to the first
 * whitespace-separated word after it (the seed's rule, checked by parseNickname,
 * as v2's `nick` frame is), `/nick` alone is an error, `/nickname x` is a chat
 * line; `/join ROOM` likewise takes the first word; `/who` and `/rooms` take
 * nothing (what follows them is ignored). A frame that is empty or only
 * whitespace is refused, not broadcast.
 */
export function parseClientText(text: string): ParseResult {
  const rest = (command: string) => (isCommand(text, command) ? text.slice(command.length) : undefined);
  const nick = rest(NICK_COMMAND);
  if (nick !== undefined) {
    const result = parseNickname(nick);
    return result.ok ? { ok: true, command: { type: 'nick', nickname: result.nickname } } : result;
  }
  const join = rest(JOIN_COMMAND);
  if (join !== undefined) {
    const result = parseRoomName(join.trim().split(/\s+/u)[0] ?? '');
    return result.ok ? { ok: true, command: { type: 'join', room: result.room } } : result;
  }
  if (rest(WHO_COMMAND) !== undefined) return { ok: true, command: { type: 'who' } };
  if (rest(ROOMS_COMMAND) !== undefined) return { ok: true, command: { type: 'rooms' } };
  if (text.trim().length === 0) return { ok: false, error: errorInfo(ErrorCode.EMPTY_MESSAGE) };
  return { ok: true, command: { type: 'message', message: text } };
}

function isCommand(text: string, command: string): boolean {
  if (!text.startsWith(command)) return false;
  const next = text.charAt(command.length);
  return next === '' || /\s/u.test(next);
}

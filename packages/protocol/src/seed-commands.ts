import type { ParseResult } from './commands.js';
import { ErrorCode, errorInfo, unknownCommand } from './errors.js';
import { parseNickname } from './nickname.js';
import { parseRoomName } from './room.js';

/**
 * The seed protocol, client -> server: every text frame is one line. `/nick NAME`
 * renames the client, `/join ROOM` moves it, `/who`, `/rooms` and `/help` ask;
 * any other `/word` is refused (UNKNOWN_COMMAND); anything else is a chat line.
 */

export const NICK_COMMAND = '/nick';
export const JOIN_COMMAND = '/join';
export const WHO_COMMAND = '/who';
export const ROOMS_COMMAND = '/rooms';
export const HELP_COMMAND = '/help';
export const REFRESH_COMMAND = '/refresh';

/** A line that starts like a command: a slash, then a word that begins with a letter. */
const COMMAND_WORD = /^\/(\p{L}[\p{L}\p{N}_-]*)(?:\s|$)/u;

/**
 * Parse one text frame from a seed-protocol client. Never throws.
 *
 * A command is a command only as a whole word: `/nick NAME` renames to the first
 * whitespace-separated word after it (the seed's rule, checked by parseNickname,
 * as v2's `nick` frame is), `/nick` alone is an error; `/join ROOM` takes the
 * rest of the line as the room's name (parseRoomName: `/join Dev Room` is
 * `#dev-room`, and the answer says so); `/who`, `/rooms` and `/help` take nothing
 * (what follows them is ignored). Any other word after a slash (`/me`, `/bogus`,
 * `/nickname x`) is refused with UNKNOWN_COMMAND rather than broadcast: the one
 * deliberate difference from the seed, which broadcast it. A slash not followed
 * by a letter (`/ hi`, `//`, `/3`) starts a chat line. A frame that is empty or
 * only whitespace is refused, not broadcast.
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
    const result = parseRoomName(join);
    return result.ok ? { ok: true, command: { type: 'join', room: result.room } } : result;
  }
  if (rest(WHO_COMMAND) !== undefined) return { ok: true, command: { type: 'who' } };
  if (rest(ROOMS_COMMAND) !== undefined) return { ok: true, command: { type: 'rooms' } };
  if (rest(HELP_COMMAND) !== undefined) return { ok: true, command: { type: 'help' } };
  const refresh = rest(REFRESH_COMMAND);
  if (refresh !== undefined) {
    const token = refresh.trim();
    // A seed client without identity that types `/refresh` alone gets the usual refusal of an empty token.
    return token.length === 0
      ? { ok: false, error: errorInfo(ErrorCode.TOKEN_INVALID) }
      : { ok: true, command: { type: 'refresh', token } };
  }
  const word = COMMAND_WORD.exec(text)?.[1];
  if (word !== undefined) return { ok: false, error: unknownCommand(word) };
  if (text.trim().length === 0) return { ok: false, error: errorInfo(ErrorCode.EMPTY_MESSAGE) };
  return { ok: true, command: { type: 'message', message: text } };
}

function isCommand(text: string, command: string): boolean {
  if (!text.startsWith(command)) return false;
  const next = text.charAt(command.length);
  return next === '' || /\s/u.test(next);
}

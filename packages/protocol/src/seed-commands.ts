import type { ParseResult } from './commands.js';
import { ErrorCode, errorInfo } from './errors.js';
import { parseNickname } from './nickname.js';

/**
 * The seed protocol, client -> server: every text frame is one line. `/nick NAME`
 * renames the client, anything else is a chat line.
 */

export const NICK_COMMAND = '/nick';

/**
 * Parse one text frame from a seed-protocol client. Never throws.
 *
 * `/nick` is a command only as a whole word: `/nick NAME` renames to the first
 * whitespace-separated word after it (the seed's rule, checked by parseNickname,
 * as v2's `nick` frame is), `/nick` alone is an error, `/nickname x` is a chat line. A frame that is empty or only
 * whitespace is refused, not broadcast.
 */
export function parseClientText(text: string): ParseResult {
  if (isNickCommand(text)) return parseNick(text.slice(NICK_COMMAND.length));
  if (text.trim().length === 0) return { ok: false, error: errorInfo(ErrorCode.EMPTY_MESSAGE) };
  return { ok: true, command: { type: 'message', message: text } };
}

function isNickCommand(text: string): boolean {
  if (!text.startsWith(NICK_COMMAND)) return false;
  const next = text.charAt(NICK_COMMAND.length);
  return next === '' || /\s/u.test(next);
}

function parseNick(rest: string): ParseResult {
  const result = parseNickname(rest);
  if (!result.ok) return result;
  return { ok: true, command: { type: 'nick', nickname: result.nickname } };
}

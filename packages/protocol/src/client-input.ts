import { ErrorCode, type ProtocolErrorInfo } from './errors.js';
import { MAX_NICKNAME_LENGTH } from './limits.js';

/**
 * Client -> server input. A client sends text frames, as in the seed:
 * `/nick NAME` renames it, anything else is a chat line.
 */
export type ClientCommand =
  | { readonly type: 'message'; readonly message: string; readonly ref?: string }
  | { readonly type: 'nick'; readonly nickname: string; readonly ref?: string };

export type ParseResult =
  | { readonly ok: true; readonly command: ClientCommand }
  | { readonly ok: false; readonly error: ProtocolErrorInfo; readonly ref?: string };

export const NICK_COMMAND = '/nick';

// C0/C1 controls, DEL and the Unicode line/paragraph separators: they would break a
// one-line nickname in every client.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;

/**
 * Parse one text frame from a client. Never throws.
 *
 * `/nick` is a command only as a whole word: `/nick NAME` takes the first
 * whitespace-separated word after it as the new name (the seed's rule), `/nick`
 * alone is an error, `/nickname x` is a chat line. A frame that is empty or only
 * whitespace is refused, not broadcast.
 */
export function parseClientText(text: string): ParseResult {
  if (isNickCommand(text)) {
    return parseNick(text.slice(NICK_COMMAND.length));
  }
  if (text.trim().length === 0) {
    return fail(ErrorCode.EMPTY_MESSAGE, 'Empty messages are not sent.');
  }
  return { ok: true, command: { type: 'message', message: text } };
}

/** Check a nickname; returns the error to send, or undefined when it is acceptable. */
export function validateNickname(nickname: string): ProtocolErrorInfo | undefined {
  if (nickname.length === 0) {
    return { code: ErrorCode.NICK_REQUIRED, message: 'Usage: /nick NAME (a name is required).' };
  }
  if ([...nickname].length > MAX_NICKNAME_LENGTH) {
    return {
      code: ErrorCode.NICK_TOO_LONG,
      message: `Nicknames are at most ${MAX_NICKNAME_LENGTH} characters.`,
    };
  }
  if (CONTROL_CHARS.test(nickname)) {
    return { code: ErrorCode.NICK_INVALID, message: 'Nicknames cannot contain control characters.' };
  }
  return undefined;
}

function isNickCommand(text: string): boolean {
  if (!text.startsWith(NICK_COMMAND)) return false;
  const next = text.charAt(NICK_COMMAND.length);
  return next === '' || /\s/u.test(next);
}

function parseNick(rest: string): ParseResult {
  const nickname = rest.trim().split(/\s+/u)[0] ?? '';
  const error = validateNickname(nickname);
  if (error) return { ok: false, error };
  return { ok: true, command: { type: 'nick', nickname } };
}

function fail(code: ErrorCode, message: string): ParseResult {
  return { ok: false, error: { code, message } };
}

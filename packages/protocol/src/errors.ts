import { MAX_NICKNAME_LENGTH, MAX_REF_LENGTH } from './limits.js';

/**
 * The catalogue of `error` frame codes: stable strings a client can switch on,
 * each with the one sentence a person reads (see errorInfo).
 */
export const ErrorCode = {
  NICK_REQUIRED: 'NICK_REQUIRED',
  NICK_INVALID: 'NICK_INVALID',
  NICK_TOO_LONG: 'NICK_TOO_LONG',
  EMPTY_MESSAGE: 'EMPTY_MESSAGE',
  RATE_LIMITED: 'RATE_LIMITED',
  BAD_FRAME: 'BAD_FRAME',
  BUS_UNAVAILABLE: 'BUS_UNAVAILABLE',
  NICK_TAKEN: 'NICK_TAKEN',
  ROOM_INVALID: 'ROOM_INVALID',
  ROOM_LIMIT: 'ROOM_LIMIT',
  UNKNOWN_COMMAND: 'UNKNOWN_COMMAND',
  TOKEN_INVALID: 'TOKEN_INVALID',
  ROOM_FORBIDDEN: 'ROOM_FORBIDDEN',
  NICK_LOCKED: 'NICK_LOCKED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The sentence sent with each code. A BAD_FRAME refusal says instead exactly what was wrong (BadFrame). */
export const ERROR_SENTENCES: Readonly<Record<ErrorCode, string>> = {
  NICK_REQUIRED: 'Usage: /nick NAME (a name is required).',
  NICK_INVALID: 'Nicknames cannot contain control, invisible, text-direction, private-use or phonetic (small capital) characters.',
  NICK_TOO_LONG: `Nicknames are at most ${MAX_NICKNAME_LENGTH} characters.`,
  EMPTY_MESSAGE: 'Empty messages are not sent.',
  RATE_LIMITED: 'Slow down: you are sending too fast; this line was not sent.',
  BAD_FRAME: 'The frame was not understood.',
  BUS_UNAVAILABLE: 'Not delivered: the chat cluster is unreachable right now. Please try again.',
  NICK_TAKEN: 'That nickname, or one that looks the same (whatever the case or look-alike letters), is taken: choose another.',
  ROOM_INVALID: 'Usage: /join ROOM (1 to 32 characters: a-z, 0-9, - and _; a leading # is fine, spaces become -).',
  ROOM_LIMIT: 'No room for a new room: the cluster has as many rooms as it may. Join one that exists (/rooms lists them).',
  UNKNOWN_COMMAND: 'Unknown command: /help lists the commands. Nothing was sent.',
  TOKEN_INVALID: 'That token was refused (invalid, expired, or for another user): the connection keeps the token it had.',
  ROOM_FORBIDDEN: 'You may not join that room: your token does not allow it. /rooms lists the rooms you may join.',
  NICK_LOCKED: 'Your name comes from your sign-in and cannot be changed here.',
};

/** What a refused input was refused for: a code and its sentence (and, RATE_LIMITED, when to try again). */
export interface ProtocolErrorInfo {
  readonly code: ErrorCode;
  readonly message: string;
  /** RATE_LIMITED: how long until the same kind of input would be accepted, in ms. */
  readonly retryAfterMs?: number;
}

/** The catalogue entry for `code`; `detail`, a sentence of its own, replaces the generic one (BAD_FRAME: which field, which rule). */
export function errorInfo(code: ErrorCode, detail?: string): ProtocolErrorInfo {
  return { code, message: detail ?? ERROR_SENTENCES[code] };
}

/** What a RATE_LIMITED refusal says of each rate (the frame rate has the catalogue's sentence). */
export const RateLimitedDetail = {
  JOIN: 'Slow down: you are changing rooms too fast; this join was not done.',
  PRESENCE_QUERY: 'Slow down: you are asking /who and /rooms too fast; this was not answered.',
} as const;

/**
 * A RATE_LIMITED refusal that says when to try again: `retryAfterMs` (whole
 * ms, at least 1) until the rate that refused it has room again. `detail` names
 * the rate (RateLimitedDetail); the frame rate's is the catalogue's sentence.
 */
export function rateLimited(retryAfterMs: number, detail?: string): ProtocolErrorInfo {
  return { ...errorInfo(ErrorCode.RATE_LIMITED, detail), retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)) };
}

/** The refusal of a line that starts like a command but names none: `/bogus` is said back, not broadcast. */
export function unknownCommand(word: string): ProtocolErrorInfo {
  return errorInfo(ErrorCode.UNKNOWN_COMMAND, `Unknown command /${word.slice(0, 32)}: /help lists the commands. Nothing was sent.`);
}

/**
 * Identity on: a `refresh` brought a token whose `rooms` no longer allow the
 * room the connection is in: it is moved out (to `lobby` if allowed, else the
 * token's first room), and told which room it left.
 */
export function roomNoLongerAllowed(room: string): ProtocolErrorInfo {
  return errorInfo(ErrorCode.ROOM_FORBIDDEN, `Your token no longer allows #${room.slice(0, 64)}: you were moved out of it.`);
}

/** Identity on: a `refresh` whose token names the user otherwise than the connection's (its `name` claim changed). */
export const TOKEN_NAME_CHANGED =
  'That token gives you another name: a name from your sign-in changes only with a new connection. The connection keeps the token it had.';

/** The details of BAD_FRAME, in one place. */
export const BadFrame = {
  NOT_AN_OBJECT: 'Frames must be JSON objects.',
  HELLO_FIRST: 'The first frame must be {"type":"hello"}.',
  HELLO_AGAIN: '"hello" is only allowed as the first frame.',
  BAD_REF: `"ref" must be a string of 1 to ${MAX_REF_LENGTH} characters.`,
  BAD_SESSION: 'Bad hello: "session" must be a string.',
  BAD_SINCE: 'Bad hello: "since" must be a whole number.',
  BAD_EPOCH: 'Bad hello: "epoch" must be a string.',
  BAD_ROOM: 'Bad hello: "room" must be a room name.',
  BAD_TOKEN: 'Bad hello: "token" must be a non-empty string.',
  REFRESH_TOKEN: '"token" must be a non-empty string.',
  MESSAGE_NOT_STRING: '"message" must be a string.',
  unknownType: (type: unknown): string => `Unknown frame type ${describeType(type)}.`,
} as const;

/** Longest `type` repeated back in a BAD_FRAME refusal, in characters. */
const ECHOED_TYPE_LENGTH = 32;

/**
 * A frame's `type` as a refusal names it: a short string quoted, a long one cut,
 * anything else by its kind. Never serializes the value itself, which may be
 * nested deeper than JSON.stringify can go, or carry a `toString` that is not a function.
 */
function describeType(type: unknown): string {
  if (typeof type === 'string') {
    return type.length > ECHOED_TYPE_LENGTH ? `${JSON.stringify(type.slice(0, ECHOED_TYPE_LENGTH))}…` : JSON.stringify(type);
  }
  if (type === undefined) return '(none)';
  if (type === null) return 'null';
  if (Array.isArray(type)) return '(an array)';
  if (typeof type === 'object') return '(an object)';
  return `(a ${typeof type})`;
}

/** Thrown by the strict parsers (e.g. parseServerFrame) when input is not a valid frame. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

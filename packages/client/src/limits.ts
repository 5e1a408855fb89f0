import {
  ErrorCode,
  MAX_MESSAGE_BYTES,
  MAX_NICKNAME_LENGTH,
  MESSAGE_BURST,
  MESSAGE_RATE_PER_SEC,
  codePointLength,
  parseRoomName,
  validateNickname,
  type ClientLimits,
  type RoomName,
  type WelcomeFrame,
} from '@switchboard/protocol';
import { ClientError } from './client-error.js';

/** What a server that announces no limits (older than `welcome.limits`) enforces: the protocol's defaults. */
export const DEFAULT_LIMITS: ClientLimits = Object.freeze({
  maxMessageBytes: MAX_MESSAGE_BYTES,
  messageRatePerSec: MESSAGE_RATE_PER_SEC,
  messageBurst: MESSAGE_BURST,
  maxNicknameLength: MAX_NICKNAME_LENGTH,
});

/**
 * The limits to respect on a connection: those its welcome announced, each one
 * that is missing or not a positive number replaced by the default; then the
 * `maxMessageBytes` option, when given, over the announced value.
 */
export function limitsOf(welcome: WelcomeFrame | undefined, maxMessageBytes: number | undefined): ClientLimits {
  const announced: Partial<Record<keyof ClientLimits, unknown>> = welcome?.limits ?? {};
  const pick = (key: keyof ClientLimits): number => {
    const value = announced[key];
    return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : DEFAULT_LIMITS[key];
  };
  return Object.freeze({
    maxMessageBytes: maxMessageBytes ?? pick('maxMessageBytes'),
    messageRatePerSec: pick('messageRatePerSec'),
    messageBurst: pick('messageBurst'),
    maxNicknameLength: pick('maxNicknameLength'),
  });
}

/**
 * A nickname the server would take, or ClientError with the code it would refuse
 * it with. The server also takes only the first word after `/nick`: a name with
 * spaces would be cut, so it is refused here.
 */
export function checkNickname(nickname: string, limits: ClientLimits): string {
  const max = limits.maxNicknameLength;
  if (codePointLength(nickname) > max) throw new ClientError(ErrorCode.NICK_TOO_LONG, `Nicknames are at most ${max} characters.`);
  const error = validateNickname(nickname);
  // validateNickname knows only the default length; the announced one was checked above.
  if (error && error.code !== ErrorCode.NICK_TOO_LONG) throw new ClientError(error.code, error.message);
  if (/\s/u.test(nickname)) throw new ClientError(ErrorCode.NICK_INVALID, 'Nicknames are one word, without spaces.');
  return nickname;
}

/**
 * The room a join asks for, as the server reads it (`#Dev` is `dev`), or
 * ClientError ROOM_INVALID: 1 to 32 characters of a-z, 0-9, - and _.
 */
export function checkRoom(room: string): RoomName {
  const result = parseRoomName(room);
  if (!result.ok) throw new ClientError(result.error.code, result.error.message);
  return result.room;
}

const encoder = new TextEncoder();

/** The size of a frame as sent: bytes of UTF-8. */
export function byteLength(frame: string): number {
  return encoder.encode(frame).length;
}

/**
 * MESSAGE_TOO_BIG when `frame`, as UTF-8, is over the limit: the server would
 * close the connection for it (1009). Undefined when it fits.
 */
export function frameSizeError(frame: string, limits: ClientLimits): ClientError | undefined {
  const bytes = byteLength(frame);
  const max = limits.maxMessageBytes;
  if (bytes <= max) return undefined;
  return new ClientError('MESSAGE_TOO_BIG', `Too long: ${bytes} bytes as sent, over the server's limit of ${max}; nothing was sent.`);
}

/** Throws frameSizeError(frame, limits), if any. */
export function checkFrameSize(frame: string, limits: ClientLimits): void {
  const error = frameSizeError(frame, limits);
  if (error) throw error;
}
